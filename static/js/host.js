// The facilitator's screen: the whole agenda, poll and timer controls, live counts, and on a
// Q&A or idea board the moderation queue and every post with its controls.
import {
  $,
  config,
  connect,
  el,
  errorText,
  formatMs,
  ForumState,
  isBoard,
  pollStatusText,
  renderBars,
  renderSelection,
  t,
} from "./common.js";
import { renderAgendaTools, setUpAgenda } from "./host-agenda.js";
import { renderCodes, setUpRevoke, setUpTriesReset } from "./host-codes.js";
import { showModeratorLink } from "./moderator-link.js";
import { boardModeration } from "./moderation.js";
import { renderHostShift } from "./shift.js";

// The key travels in the address's #fragment, which the browser never sends to the server;
// it is kept for this tab so a reload or a language switch does not lose it.
const storeKey = `townhall-host-${config.code}`;
const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
if (fromHash) {
  sessionStorage.setItem(storeKey, fromHash);
  // Out of the address bar, where a mirrored screen or a shoulder would show it.
  history.replaceState(null, "", location.pathname + location.search);
}
const key = fromHash ?? sessionStorage.getItem(storeKey) ?? "";

const forum = new ForumState();
let presence = { participant: 0, screen: 0, host: 0 };
let committeeLinks = {};

const socket = connect(
  { role: "host", code: config.code, key },
  {
    onSnapshot(reply) {
      forum.setSnapshot(reply);
      presence = reply.presence;
      committeeLinks = reply.committee_links ?? {};
      showModeratorLink(reply.moderator_link);
      render();
    },
    onError(error) {
      showMessage(error.code === "bad_key" ? t("bad_key") : error.message);
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

function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
  box.dataset.kind = kind;
}

// Sends a host command; says plainly when it was refused. Resolves to the ack if it was
// accepted, else null.
async function send(event, payload = {}) {
  let reply;
  try {
    reply = await socket.timeout(8000).emitWithAck(event, payload);
  } catch {
    showMessage(t("reconnecting"));
    return null;
  }
  showMessage(reply.ok ? "" : `${t("error")}: ${errorText(reply.error)}`);
  return reply.ok ? reply : null;
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
  boards.render(item);
  renderPromote(item);
  renderPresence();
  renderTimer();
  renderSelectionPanel();
  renderHostShift(state, item, $("shift-panel"), command);
  renderCodes(state.codes, state.group_labels);
  renderAgendaTools(forum);
  $("export").hidden = !state.items.some(isBoard);
  $("results-export").hidden = !state.items.some((i) => i.kind === "poll");
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
  const progress = Object.entries(selection.progress ?? {}).map(([member, n]) =>
    el("li", { "data-member": member, text: t("progress", { member, n, total: selection.scores_expected }) }),
  );
  $("selection-progress").replaceChildren(...progress);
  const lock = $("scoring-lock");
  lock.textContent = t(selection.locked ? "unlock_scoring" : "lock_scoring");
  lock.dataset.locked = String(selection.locked);
  lock.disabled = selection.published && selection.locked;
  const publish = $("selection-publish");
  publish.textContent = t(selection.published ? "withdraw" : "publish");
  publish.dataset.published = String(selection.published);
  $("selection-visibility").textContent = t(selection.published ? "selection_published" : "selection_preview");
  renderSelection($("selection-result"), selection.result);
  $("committee-links-note").textContent = t("committee_links");
  const links = Object.entries(committeeLinks).map(([member, path]) => {
    const address = new URL(path, location.origin).href;
    return el("li", {}, el("span", { class: "link-member", text: `${member}: ` }), el("code", { text: address }));
  });
  $("committee-links").replaceChildren(...links);
}

$("scoring-lock").addEventListener("click", (event) =>
  command(event.currentTarget.dataset.locked === "true" ? "scoring_unlock" : "scoring_lock"),
);
$("selection-publish").addEventListener("click", (event) =>
  command(event.currentTarget.dataset.published === "true" ? "selection_withdraw" : "selection_publish"),
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
  $("poll-close").disabled = poll.status !== "open";
  $("results-show").disabled = poll.results_visible;
  $("results-hide").disabled = !poll.results_visible;
  renderBars($("results"), item, poll.tally, forum.state.group_labels);
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
$("poll-open").addEventListener("click", () => command("poll_open", currentPoll()));
$("poll-close").addEventListener("click", () => command("poll_close", currentPoll()));
$("results-show").addEventListener("click", () => command("results_show", currentPoll()));
$("results-hide").addEventListener("click", () => command("results_hide", currentPoll()));
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
  if (document.hidden) return;
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
