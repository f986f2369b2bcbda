// The facilitator's screen: the whole agenda, poll and timer controls, live counts.
import { $, config, connect, el, formatMs, ForumState, pollStatusText, renderBars, t } from "./common.js";

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

const socket = connect(
  { role: "host", code: config.code, key },
  {
    onSnapshot(reply) {
      forum.setSnapshot(reply);
      presence = reply.presence;
      render();
    },
    onError(error) {
      showMessage(error.code === "bad_key" ? t("bad_key") : error.message);
    },
  },
);
socket.on("state", (state) => forum.setState(state, state.now_ms) && render());
socket.on("tally", (tally) => forum.setTally(tally) && renderPoll());
socket.on("presence", (counts) => {
  presence = counts;
  renderPresence();
});

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

async function command(event, payload = {}) {
  let reply;
  try {
    reply = await socket.timeout(8000).emitWithAck(event, payload);
  } catch {
    showMessage(t("reconnecting"));
    return;
  }
  showMessage(reply.ok ? "" : `${t("error")}: ${reply.error.message}`);
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
  renderPresence();
  renderTimer();
}

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
  renderBars($("results"), item, poll.tally);
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
