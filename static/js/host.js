// The facilitator's screen: the whole agenda, poll and timer controls, live counts, and on a
// Q&A or idea board the moderation queue and every post with its controls. What changes or
// reveals results asks first (confirm.js); keys for a clicker are in shortcuts.js.
import {
  $,
  config,
  connect,
  el,
  formatMs,
  ForumState,
  isBoard,
  keyFromFragment,
  pollStatusText,
  renderSelection,
  sendCommand,
  showMessage,
  t,
} from "./common.js";
import { renderPollResults } from "./poll-results.js";
import { renderAgendaTools, setUpAgenda } from "./host-agenda.js";
import { confirmAction } from "./confirm.js";
import { renderCodes, setUpRevoke, setUpTriesReset } from "./host-codes.js";
import { renderCommitteeProgress, showCommitteeLinks } from "./host-committee.js";
import { showJoinLink } from "./host-join.js";
import { showModeratorLink } from "./moderator-link.js";
import { boardModeration } from "./moderation.js";
import { setUpShortcuts } from "./shortcuts.js";
import { renderHostShift } from "./shift.js";

const key = keyFromFragment("host");

const forum = new ForumState();
let refused = false; // the key is wrong: nothing more is asked of the server
let presence = { participant: 0, screen: 0, host: 0 };

const socket = connect(
  { role: "host", code: config.code, key },
  {
    onSnapshot(reply) {
      forum.setSnapshot(reply);
      presence = reply.presence;
      showCommitteeLinks(reply.committee_links ?? []);
      showModeratorLink(reply.moderator_link);
      showJoinLink(reply.forum.join_url);
      render();
    },
    onError(error) {
      refused ||= error.code === "bad_key";
      showMessage(refused ? t("bad_key") : error.message);
    },
    // Connection lost says so in the alert line, and that goes once the connection is back.
    onStatus(state) {
      if (state === "down") showMessage(t("reconnecting"), "connection");
      else if (state === "up" && $("message").dataset.kind === "connection") showMessage("");
    },
  },
);
socket.on("state", (state) => {
  if (forum.setState(state, state.now_ms)) render();
  showDigest(); // a host command is a line in the record: show the digest it made
});
socket.on("tally", (tally) => forum.setTally(tally) && renderPoll());
socket.on("board", (board) => {
  if (forum.setBoard(board) && board.board === forum.current?.id) boards.render(forum.current);
});
socket.on("presence", (counts) => {
  presence = counts;
  renderPresence();
});

// Sends a host command; says plainly when it was refused. Resolves to the ack if it was
// accepted, else null.
function send(event, payload = {}) {
  return sendCommand(socket, event, payload);
}

setUpRevoke(send);
setUpTriesReset(send);
setUpAgenda(socket);
const boards = boardModeration({ forum, command, send, showMessage });

// Resolves to whether the command was accepted.
async function command(event, payload = {}) {
  return (await send(event, payload)) !== null;
}

function render() {
  const item = forum.current;
  if (!item) return;
  const state = forum.state;
  $("current-step").textContent = `${state.current + 1} / ${state.items.length}`;
  $("current-title").textContent = item.title;
  $("current-notes").textContent = item.notes ?? "";
  $("prev").disabled = state.current === 0;
  $("next").disabled = state.current === state.items.length - 1;
  renderAgenda();
  renderPoll();
  renderPrimary();
  boards.render(item);
  renderPromote(item);
  renderPresence();
  renderTimer();
  renderBlank();
  renderSelectionPanel();
  renderHostShift(state, item, $("shift-panel"), command);
  renderCodes(state.codes, state.group_labels);
  renderAgendaTools(forum);
  $("export").hidden = !state.items.some(isBoard);
  $("results-export").hidden = !state.items.some((i) => i.kind === "poll");
  $("words-export").hidden = !state.items.some((i) => i.kind === "words");
}

// The selection: the live vote's status, how far each committee member has got (how many
// scores, never which), the lock and publish controls, and a preview of the result.
function renderSelectionPanel() {
  const selection = forum.state.selection;
  const panel = $("selection-panel");
  panel.hidden = !selection;
  if (!selection) return;
  const poll = forum.state.items.find((item) => item.id === selection.poll);
  $("selection-live").textContent = t(selection.live_vote ? "live_vote_in" : "live_vote_waiting", {
    poll: poll?.title ?? selection.poll,
  });
  $("selection-scoring").textContent = t(selection.locked ? "scoring_locked" : "scoring_open");
  renderCommitteeProgress(selection, poll?.options ?? []);
  const lock = $("scoring-lock");
  lock.textContent = t(selection.locked ? "unlock_scoring" : "lock_scoring");
  lock.dataset.locked = String(selection.locked);
  lock.disabled = selection.published && selection.locked;
  const publish = $("selection-publish");
  publish.textContent = t(selection.published ? "withdraw" : "publish");
  publish.dataset.published = String(selection.published);
  $("selection-visibility").textContent = t(selection.published ? "selection_published" : "selection_preview");
  renderSelection($("selection-result"), selection.result);
}

// Reopening scoring, announcing the selection and withdrawing it ask first; locking does not.
const SELECTION_QUESTIONS = {
  scoring_unlock: ["confirm_unlock", "confirm_unlock_detail", "unlock_scoring"],
  selection_publish: ["confirm_publish", "confirm_publish_detail", "publish"],
  selection_withdraw: ["confirm_withdraw", "confirm_withdraw_detail", "withdraw"],
};
async function selectionCommand(event) {
  const asked = SELECTION_QUESTIONS[event];
  if (asked) {
    const [question, detail, action] = asked.map((key) => t(key));
    if (!(await confirmAction(question, { detail, action }))) return;
  }
  command(event);
}
$("scoring-lock").addEventListener("click", (event) =>
  selectionCommand(event.currentTarget.dataset.locked === "true" ? "scoring_unlock" : "scoring_lock"),
);
$("selection-publish").addEventListener("click", (event) =>
  selectionCommand(event.currentTarget.dataset.published === "true" ? "selection_withdraw" : "selection_publish"),
);

function renderAgenda() {
  const state = forum.state;
  const rows = state.items.map((item, index) => {
    const poll = forum.poll(item.id);
    const tags = [t(`kind_${item.kind}`)];
    if (poll) tags.push(pollStatusText(poll));
    if (item.minutes) tags.push(`${item.minutes} ${t("minutes")}`);
    const go = el("button", { type: "button", class: "go", text: t("go") });
    go.addEventListener("click", () => command("goto", { item: item.id }));
    return el(
      "li",
      { class: index === state.current ? "current" : "", "aria-current": index === state.current ? "step" : false },
      el("span", { class: "agenda-title", text: item.title }),
      el("span", { class: "agenda-meta", text: tags.join(" · ") }),
      go,
    );
  });
  $("agenda").replaceChildren(...rows);
}

function renderPoll() {
  const item = forum.current;
  const box = $("poll");
  box.hidden = item?.kind !== "poll";
  if (box.hidden) return;
  const poll = forum.poll(item.id);
  $("poll-question").textContent = item.question;
  $("poll-status").textContent = pollStatusText(poll);
  $("poll-status").dataset.status = poll.status;
  $("poll-visibility").textContent = poll.results_visible ? t("results_visible") : t("results_private");
  $("poll-ballots").textContent = `${t("ballots")}: ${poll.tally?.voters ?? 0}`;
  $("poll-open").disabled = poll.status === "open";
  $("poll-open").textContent = t(poll.status === "closed" ? "reopen_voting" : "open_voting");
  $("poll-close").disabled = poll.status !== "open";
  $("results-show").disabled = poll.results_visible;
  $("results-hide").disabled = !poll.results_visible;
  renderPollResults($("results"), item, poll.tally, forum.state.group_labels);
}

// The one highlighted button is the next step: open a waiting poll, close an open one, show a
// closed one's results, then move on; on any other item, move on.
function renderPrimary() {
  const item = forum.current;
  const poll = item?.kind === "poll" ? forum.poll(item.id) : null;
  let primary = "next";
  if (poll?.status === "pending") primary = "poll-open";
  else if (poll?.status === "open") primary = "poll-close";
  else if (poll && !poll.results_visible) primary = "results-show";
  for (const id of ["next", "poll-open", "poll-close", "results-show"]) {
    $(id).classList.toggle("primary", id === primary);
  }
}

// The projector blacked out (B on a clicker): the button says how to bring it back.
function renderBlank() {
  const blank = Boolean(forum.state?.blank);
  $("blank").textContent = t(blank ? "unblank_screen" : "blank_screen");
  $("blank").setAttribute("aria-pressed", String(blank));
  $("blank-note").hidden = !blank;
}

function renderPresence() {
  $("presence").textContent = `${t("phones")} ${presence.participant} · ${t("screens")} ${presence.screen}`;
}

function renderTimer() {
  const timer = forum.state?.timer;
  $("timer").textContent = formatMs(forum.timerRemaining());
  $("timer").dataset.running = String(Boolean(timer?.running));
  $("timer-start").disabled = Boolean(timer?.running) || forum.timerRemaining() <= 0;
  $("timer-pause").disabled = !timer?.running;
}
setInterval(renderTimer, 250);

const currentPoll = () => ({ poll: forum.current?.id });
// Previous and next name their target, so a click repeated after a lost ack does not skip.
const step = (delta) => {
  const target = forum.state?.items[forum.state.current + delta];
  if (target) command("goto", { item: target.id });
};
$("prev").addEventListener("click", () => step(-1));
$("next").addEventListener("click", () => step(1));
// Closing a poll, reopening a closed one and showing its results ask first, naming the poll;
// the command then goes to the poll the question named, wherever the agenda is by then.
const POLL_QUESTIONS = {
  poll_open: ["confirm_reopen", "confirm_reopen_detail", "reopen_voting"],
  poll_close: ["confirm_close", "confirm_close_detail", "close_voting"],
  results_show: ["confirm_reveal", "confirm_reveal_detail", "show_results"],
};
async function pollCommand(event) {
  const item = forum.current;
  if (item?.kind !== "poll") return;
  const status = forum.poll(item.id)?.status;
  if (event !== "poll_open" || status === "closed") {
    const [question, detail, action] = POLL_QUESTIONS[event];
    const asked = t(question, { poll: item.title });
    if (!(await confirmAction(asked, { detail: t(detail), action: t(action) }))) return;
  }
  command(event, { poll: item.id });
}
const toggleBlank = () => command(forum.state?.blank ? "screen_unblank" : "screen_blank");
$("poll-open").addEventListener("click", () => pollCommand("poll_open"));
$("poll-close").addEventListener("click", () => pollCommand("poll_close"));
$("results-show").addEventListener("click", () => pollCommand("results_show"));
$("results-hide").addEventListener("click", () => command("results_hide", currentPoll()));
$("blank").addEventListener("click", toggleBlank);
setUpShortcuts({
  next: () => step(1),
  prev: () => step(-1),
  reveal: () => {
    const poll = forum.current?.kind === "poll" ? forum.poll(forum.current.id) : null;
    if (poll && !poll.results_visible) pollCommand("results_show");
  },
  blank: toggleBlank,
});
$("timer-start").addEventListener("click", () => command("timer_start"));
$("timer-pause").addEventListener("click", () => command("timer_pause"));
$("timer-reset").addEventListener("click", () => command("timer_reset"));

// -- Boards ------------------------------------------------------------------------------------

// Promoting the top ideas sets a poll's options: the host's alone, unlike the moderation around it.
function renderPromote(item) {
  const target = item.promote_to ? forum.state.items.find((i) => i.id === item.promote_to) : null;
  $("promote-box").hidden = !(item.kind === "ideas" && target);
  if (target) {
    $("promote").textContent = t("promote", { poll: target.title, n: item.promote_count });
  }
}

$("promote").addEventListener("click", async () => {
  const item = forum.current;
  if (item?.kind !== "ideas") return;
  const target = forum.state.items.find((i) => i.id === item.promote_to);
  if (await command("ideas_promote", { board: item.id })) {
    showMessage(t("promoted", { poll: target?.title ?? "" }), "ok");
  }
});

// The export needs the host key in a header, which a plain link can't send: fetch it, then
// hand the browser the file from a temporary object URL.
async function download(file) {
  let response;
  try {
    response = await fetch(`/export/${encodeURIComponent(config.code)}/${file}`, {
      headers: { Authorization: `Bearer ${key}` },
      cache: "no-store",
    });
  } catch {
    showMessage(t("export_failed", { status: t("reconnecting") }));
    return;
  }
  if (!response.ok) {
    showMessage(t("export_failed", { status: response.status }));
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: `${config.code}-${file}`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  showMessage("");
}
for (const link of [$("export-csv"), $("export-json")]) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    download(`posts.${link.dataset.format}`);
  });
}
// The record's running digest: what anyone can later find in the published record.
let digestSeq = -1;
async function showDigest() {
  if (document.hidden || refused) return;
  try {
    const response = await fetch(`/export/${encodeURIComponent(config.code)}/digest.json`, {
      headers: { Authorization: `Bearer ${key}` },
      cache: "no-store",
    });
    if (!response.ok) return;
    const { seq, digest } = await response.json();
    if (seq < digestSeq) return; // an earlier request answered late
    digestSeq = seq;
    $("record-digest").textContent = t("record_digest", { seq, digest: digest.slice(0, 16) });
    $("record-digest").title = digest;
  } catch {
    // Offline for a moment: the next turn shows it again.
  }
}
showDigest();
setInterval(showDigest, 5000);
document.addEventListener("visibilitychange", showDigest);
for (const link of document.querySelectorAll(".selection-export, .results-export, #record-download")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    download(link.dataset.file);
  });
}
