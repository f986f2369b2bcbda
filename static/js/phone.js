// The participant's phone: the current item, the ballot, and results when the host allows.
import { $, config, connect, el, formatMs, ForumState, opId, pollStatusText, renderBars, t } from "./common.js";

const forum = new ForumState();
let mine = {};
let pending = null; // {poll, choices, op}: a vote sent and not yet acked

const socket = connect(
  { role: "participant", code: config.code },
  {
    onSnapshot(reply) {
      forum.setSnapshot(reply);
      mine = reply.mine ?? {};
      render(true);
      if (pending) send();
    },
    onError(error) {
      $("vote-state").textContent = error.message;
    },
  },
);
socket.on("state", (state) => forum.setState(state, state.now_ms) && render(false));
socket.on("tally", (tally) => forum.setTally(tally) && renderResults());

function render(resetBallot) {
  const item = forum.current;
  if (!item) return;
  const state = forum.state;
  $("item-step").textContent = `${state.current + 1} / ${state.items.length}`;
  $("item-title").textContent = item.title;
  const pollBox = $("poll");
  const shownPoll = pollBox.dataset.poll;
  pollBox.hidden = item.kind !== "poll";
  if (item.kind === "poll") {
    if (resetBallot || shownPoll !== item.id) drawBallot(item);
    const poll = forum.poll(item.id);
    $("poll-question").textContent = item.question;
    $("poll-status").textContent = pollStatusText(poll);
    $("poll-status").dataset.status = poll.status;
    const open = poll.status === "open";
    for (const input of $("options").querySelectorAll("input")) input.disabled = !open;
    if (open) limitChoices();
    $("vote").disabled = !open || pending !== null;
    $("vote").hidden = !open;
    showVoteState(item);
    renderResults();
  }
  renderTimer();
}

function drawBallot(item) {
  const pollBox = $("poll");
  pollBox.dataset.poll = item.id;
  const multiple = item.choice === "multiple";
  $("ballot-hint").textContent = multiple ? t("choose_up_to", { n: item.max_choices }) : "";
  const chosen = new Set(mine[item.id]?.choices ?? []);
  const options = item.options.map((option) => {
    const input = el("input", {
      type: multiple ? "checkbox" : "radio",
      name: "choice",
      value: option.id,
      id: `opt-${option.id}`,
    });
    input.checked = chosen.has(option.id);
    input.addEventListener("change", limitChoices);
    return el(
      "label",
      { class: chosen.has(option.id) ? "option mine" : "option", for: `opt-${option.id}` },
      input,
      el("span", { text: option.label }),
    );
  });
  $("options").replaceChildren(...options);
}

function limitChoices() {
  const item = forum.current;
  if (item?.choice !== "multiple") return;
  const boxes = [...$("options").querySelectorAll("input")];
  const count = boxes.filter((b) => b.checked).length;
  for (const box of boxes) if (!box.checked) box.disabled = count >= item.max_choices;
}

function showVoteState(item) {
  const ballot = mine[item.id];
  for (const label of $("options").querySelectorAll("label")) {
    const id = label.querySelector("input").value;
    label.classList.toggle("mine", Boolean(ballot?.choices.includes(id)));
  }
  const state = $("vote-state");
  if (pending?.poll === item.id) state.textContent = t("sending");
  else if (ballot) {
    const open = forum.poll(item.id).status === "open";
    state.textContent = open ? `${t("voted")} ✓ ${t("change_hint")}` : `${t("voted")} ✓`;
  } else state.textContent = "";
}

function renderResults() {
  const item = forum.current;
  if (item?.kind !== "poll") return;
  const poll = forum.poll(item.id);
  const box = $("results");
  box.hidden = !poll.tally;
  $("results-note").hidden = Boolean(poll.tally);
  $("results-note").textContent = t("results_hidden");
  if (poll.tally) renderBars(box, item, poll.tally);
}

function renderTimer() {
  const timer = forum.state?.timer;
  const box = $("item-timer");
  box.hidden = !timer || timer.duration_ms === 0;
  box.textContent = formatMs(forum.timerRemaining());
  box.dataset.running = String(Boolean(timer?.running));
}
setInterval(renderTimer, 250);

$("ballot").addEventListener("submit", (event) => {
  event.preventDefault();
  const item = forum.current;
  const choices = [...$("options").querySelectorAll("input:checked")].map((i) => i.value);
  if (!item || choices.length === 0 || pending) return;
  pending = { poll: item.id, choices, op: opId() };
  render(false);
  send();
});

// Sends the pending vote until it is acked. A resend carries the same op id, so the server
// counts it once whatever happens to the connection in between.
async function send() {
  const vote = pending;
  if (!vote || !socket.connected) return;
  let reply;
  try {
    reply = await socket.timeout(5000).emitWithAck("vote", vote);
  } catch {
    if (pending === vote) setTimeout(send, 1000);
    return;
  }
  if (pending !== vote) return;
  pending = null;
  if (reply.ok) {
    mine[vote.poll] = { choices: reply.choices, version: reply.version };
    render(false);
  } else {
    render(true);
    $("vote-state").textContent = reply.error.message;
  }
}
