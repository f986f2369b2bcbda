// Changing the agenda on the day: a quick poll added after the item on screen, one more option on
// a poll not yet opened, and the wording of the item on screen corrected in place. Each form says
// next to itself when the forum refused it, and why.
import { $, el, errorText, t } from "./common.js";

const MAX_OPTIONS = 12;
let socket = null;
let shown = ""; // the item (and its wording) the wording form was last filled from

async function ask(event, payload, errorBox) {
  let reply;
  try {
    reply = await socket.timeout(8000).emitWithAck(event, payload);
  } catch {
    reply = { ok: false, error: { code: "", message: t("reconnecting") } };
  }
  errorBox.textContent = reply.ok ? "" : `${t("error")}: ${errorText(reply.error)}`;
  errorBox.hidden = reply.ok;
  return reply.ok ? reply : null;
}

function optionRow(value = "") {
  const input = el("input", { class: "quick-option", maxlength: "200", value });
  const remove = el("button", { type: "button", class: "quick-option-remove", text: t("agenda_remove") });
  const row = el("li", {}, input, remove);
  remove.addEventListener("click", () => {
    if ($("quick-options").children.length > 2) row.remove();
    numberOptions();
  });
  return row;
}

function numberOptions() {
  const rows = [...$("quick-options").children];
  rows.forEach((row, i) => {
    const input = row.querySelector("input");
    input.setAttribute("aria-label", t("agenda_option_n", { n: i + 1 }));
    input.placeholder = t("agenda_option_n", { n: i + 1 });
    row.querySelector("button").disabled = rows.length <= 2;
  });
  $("quick-option-add").disabled = rows.length >= MAX_OPTIONS;
  $("quick-max").max = String(rows.length);
}

function resetQuickPoll() {
  $("quick-question").value = "";
  $("quick-multiple").checked = false;
  $("quick-max").value = "2";
  $("quick-max").disabled = true;
  $("quick-options").replaceChildren(optionRow(), optionRow());
  numberOptions();
}

export function setUpAgenda(hostSocket) {
  socket = hostSocket;
  resetQuickPoll();
  $("quick-option-add").addEventListener("click", () => {
    $("quick-options").append(optionRow());
    numberOptions();
    $("quick-options").lastElementChild.querySelector("input").focus();
  });
  $("quick-multiple").addEventListener("change", (event) => {
    $("quick-max").disabled = !event.currentTarget.checked;
  });
  $("quick-poll-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const options = [...document.querySelectorAll("#quick-options .quick-option")].map((i) => i.value);
    const payload = { question: $("quick-question").value, options };
    if ($("quick-multiple").checked) payload.max_choices = Number($("quick-max").value);
    const reply = await ask("poll_add", payload, $("quick-poll-error"));
    if (reply) {
      $("agenda-state").textContent = t("agenda_poll_added", { question: payload.question.trim() });
      resetQuickPoll();
      $("quick-poll").open = false;
    }
  });
  $("option-add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const reply = await ask("option_add", { poll: form.dataset.poll, label: $("option-add-label").value }, $("option-add-error"));
    if (reply) $("option-add-label").value = "";
  });
  $("wording-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const item = form.dataset.item;
    // Only what was changed is sent, field by field; the first refusal stops the rest.
    for (const input of form.querySelectorAll("[data-field]")) {
      if (input.value === input.dataset.was) continue;
      const payload = { item, field: input.dataset.field, text: input.value };
      if (input.dataset.option) payload.option = input.dataset.option;
      if (!(await ask("item_edit", payload, $("wording-error")))) return;
      input.dataset.was = input.value;
    }
    $("agenda-state").textContent = t("agenda_saved");
  });
}

function wordingInput(field, value, labelText, option = "") {
  const id = `wording-${field}${option ? `-${option}` : ""}`;
  const tag = field === "notes" ? "textarea" : "input";
  const limits = { title: "200", question: "300", notes: "4000", label: "200" };
  const input = el(tag, { id, "data-field": field, "data-was": value, maxlength: limits[field] });
  if (option) input.dataset.option = option;
  input.value = value;
  return el("p", { class: "wording-field" }, el("label", { for: id, text: labelText }), input);
}

// Called on every state: the add-option form follows the poll on screen; the wording form is
// refilled only when the item on screen or its wording changed and the host is not typing in it.
export function renderAgendaTools(forum) {
  const item = forum.current;
  if (!item) return;
  const poll = item.kind === "poll" ? forum.poll(item.id) : null;
  const addable = poll && poll.status === "pending" && !poll.tally?.voters && item.options.length < MAX_OPTIONS;
  const optionForm = $("option-add-form");
  optionForm.hidden = !addable;
  optionForm.dataset.poll = item.id;

  const form = $("wording-form");
  const key = JSON.stringify([item.id, item.title, item.question, item.notes, item.options]);
  if (key === shown || form.contains(document.activeElement)) return;
  shown = key;
  form.dataset.item = item.id;
  const fields = [wordingInput("title", item.title, t("agenda_title"))];
  if (poll) {
    fields.push(wordingInput("question", item.question ?? "", t("agenda_question")));
    for (const option of item.options) {
      fields.push(wordingInput("label", option.label, t("agenda_label", { id: option.id }), option.id));
    }
  }
  fields.push(wordingInput("notes", item.notes ?? "", t("agenda_notes")));
  $("wording-fields").replaceChildren(...fields);
}
