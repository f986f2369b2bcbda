// A selection committee member's phone: every candidate with the rubric's questions, each scored
// by a tap. A change is saved at once and can be changed again until the host locks scoring.
// The member sees only their own scores; the result appears once the host publishes it.
import {
  $,
  config,
  connect,
  el,
  errorText,
  ForumState,
  renderSelection,
  retryDelay,
  sendUntilAcked,
  t,
} from "./common.js";

// The link's #fragment carries who this is and their key; the browser never sends a fragment
// to the server. Kept for this tab, so a reload works, and taken out of the address bar.
const storeKey = `townhall-committee-${config.code}`;
const fromHash = new URLSearchParams(location.hash.slice(1));
if (fromHash.get("key")) {
  sessionStorage.setItem(storeKey, JSON.stringify({ member: fromHash.get("member"), key: fromHash.get("key") }));
  history.replaceState(null, "", location.pathname + location.search);
}
const link = JSON.parse(sessionStorage.getItem(storeKey) ?? "{}");

const forum = new ForumState();
let sheet = null; // { member, name, rubric, score_range, score_labels, candidates, mine }
const pending = new Map(); // candidate -> scores waiting to be sent
const sending = new Set(); // candidates with a message in flight

const socket = connect(
  { role: "committee", code: config.code, member: link.member ?? "", key: link.key ?? "" },
  {
    onSnapshot(reply) {
      forum.setSnapshot(reply);
      sheet = reply.committee;
      buildSheet();
      render();
    },
    onError(error) {
      showMessage(error.code === "bad_key" ? t("committee_bad_link") : errorText(error));
    },
  },
);
socket.on("state", (state) => {
  if (!forum.setState(state, state.now_ms)) return;
  if (sheet && !sameCandidates(state)) {
    // The host promoted ideas to the live vote: the candidates changed; start from a snapshot.
    socket.emit("snapshot", {}, (reply) => reply.ok && (forum.setSnapshot(reply), (sheet = reply.committee), buildSheet()));
  }
  render();
});

function sameCandidates(state) {
  const poll = state.items.find((item) => item.id === state.selection?.poll);
  const ids = (poll?.options ?? []).map((o) => o.id).join("\n");
  return ids === sheet.candidates.map((c) => c.id).join("\n");
}

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

// What each score means: the programme's labels, or for a 1-5 range the pages' own wording.
function scoreLabel(value) {
  const [low, high] = sheet.score_range;
  if (sheet.score_labels?.length) return sheet.score_labels[value - low];
  return low === 1 && high === 5 ? t(`score_label_${value}`) : "";
}

function buildSheet() {
  const [low, high] = sheet.score_range;
  $("member").textContent = sheet.name ?? link.member ?? "";
  const cards = sheet.candidates.map((candidate) => {
    const questions = sheet.rubric.map((question, q) => {
      const choices = [];
      for (let value = low; value <= high; value += 1) {
        const meaning = scoreLabel(value);
        const button = el(
          "button",
          { type: "button", class: "score-choice", "aria-pressed": "false", "data-value": String(value) },
          el("span", { class: "score-number", text: String(value) }),
          meaning ? el("span", { class: "score-label", text: meaning }) : "",
        );
        // Tapping the chosen score again takes it back: the question is then not scored.
        button.addEventListener("click", () => {
          const on = button.getAttribute("aria-pressed") !== "true";
          for (const other of choices) other.setAttribute("aria-pressed", String(on && other === button));
          changed(candidate.id);
        });
        choices.push(button);
      }
      return el(
        "fieldset",
        { class: "rubric-question", "data-question": String(q) },
        el("legend", { text: `${q + 1}. ${question}` }),
        el("div", { class: "score-choices" }, ...choices),
      );
    });
    const clear = el("button", { type: "button", class: "clear", text: t("clear") });
    const node = el(
      "li",
      { class: "candidate-card", "data-candidate": candidate.id },
      el("h2", { text: candidate.title }),
      el("p", { class: "card-progress note" }),
      ...questions,
      el("p", { class: "card-foot" }, el("span", { class: "card-state", role: "status" }), clear),
    );
    clear.addEventListener("click", () => {
      for (const button of node.querySelectorAll(".score-choice")) button.setAttribute("aria-pressed", "false");
      changed(candidate.id);
    });
    return node;
  });
  $("candidates").replaceChildren(...cards);
  for (const candidate of sheet.candidates) showScores(candidate.id, sheet.mine[candidate.id] ?? []);
}

function card(candidateId) {
  return [...$("candidates").children].find((node) => node.dataset.candidate === candidateId);
}

function readScores(candidateId) {
  const node = card(candidateId);
  return sheet.rubric.map((_, q) => {
    const pressed = node?.querySelector(`.rubric-question[data-question="${q}"] [aria-pressed="true"]`);
    return pressed ? Number(pressed.dataset.value) : null;
  });
}

function showScores(candidateId, scores) {
  const node = card(candidateId);
  if (!node) return;
  for (const question of node.querySelectorAll(".rubric-question")) {
    const chosen = scores[Number(question.dataset.question)];
    for (const button of question.querySelectorAll(".score-choice")) {
      button.setAttribute("aria-pressed", String(chosen === Number(button.dataset.value)));
    }
  }
  const given = scores.filter((s) => s != null).length;
  node.dataset.scored = String(given);
  node.querySelector(".card-progress").textContent = t("scored_count", { n: given, total: sheet.rubric.length });
  node.querySelector(".card-state").textContent = given ? t("score_saved") : t("not_scored");
}

function changed(candidateId) {
  pending.set(candidateId, readScores(candidateId));
  send(candidateId);
}

// One message in flight per candidate, always carrying the latest scores, so a slow ack can
// never let an older message overwrite a newer choice. A lost ack resends the scores as they
// stand (the same scores twice change nothing); the scores go on being sent while offline.
async function send(candidateId) {
  if (sending.has(candidateId)) return;
  sending.add(candidateId);
  const state = card(candidateId)?.querySelector(".card-state");
  const latest = () => (pending.has(candidateId) ? { candidate: candidateId, scores: pending.get(candidateId) } : null);
  try {
    while (pending.has(candidateId)) {
      if (state) state.textContent = t("score_saving");
      await sendUntilAcked(socket, "score", latest, scoreAnswered, {
        key: (message) => message.candidate,
        timeoutMs: 8000,
        lostAckDelay: retryDelay,
        whileOffline: true,
      });
    }
  } finally {
    sending.delete(candidateId);
  }
}

function scoreAnswered({ candidate: candidateId, scores }, reply) {
  if (pending.get(candidateId) === scores) pending.delete(candidateId);
  if (reply.ok) {
    sheet.mine[candidateId] = reply.scores;
    showMessage("");
    if (!pending.has(candidateId)) showScores(candidateId, reply.scores);
    render();
  } else {
    pending.delete(candidateId);
    showMessage(errorText(reply.error));
    showScores(candidateId, sheet.mine[candidateId] ?? []);
  }
}

function render() {
  const selection = forum.state?.selection;
  if (!selection || !sheet) return;
  $("status-note").textContent = t(selection.locked ? "committee_locked_note" : "committee_open_note");
  document.body.dataset.locked = String(selection.locked);
  for (const button of $("candidates").querySelectorAll("button")) button.disabled = selection.locked;
  // Questions scored, not candidates touched: a candidate with a question left blank is not done.
  const scored = sheet.candidates.reduce(
    (n, c) => n + (sheet.mine[c.id] ?? []).filter((s) => s != null).length,
    0,
  );
  const total = sheet.candidates.length * sheet.rubric.length;
  $("scored-count").textContent = t("scored_count", { n: scored, total });
  $("result-box").hidden = !selection.result;
  renderSelection($("result"), selection.result);
}
