// The projector: join code and QR, the current item, live result bars once revealed, the timer.
import { $, config, connect, formatMs, ForumState, renderBars, t } from "./common.js";

const forum = new ForumState();
const socket = connect(
  { role: "screen", code: config.code },
  {
    onSnapshot(reply) {
      forum.setSnapshot(reply);
      render();
    },
  },
);
socket.on("state", (state) => forum.setState(state, state.now_ms) && render());
socket.on("tally", (tally) => forum.setTally(tally) && renderResults());

function render() {
  const item = forum.current;
  if (!item) return;
  $("item-title").textContent = item.title;
  $("poll-question").hidden = item.kind !== "poll";
  $("poll-question").textContent = item.question ?? "";
  renderResults();
  renderTimer();
}

function renderResults() {
  const item = forum.current;
  const box = $("results");
  const note = $("results-note");
  if (item?.kind !== "poll") {
    box.hidden = true;
    note.hidden = true;
    return;
  }
  const poll = forum.poll(item.id);
  box.hidden = !poll.tally;
  note.hidden = Boolean(poll.tally);
  note.textContent = poll.status === "pending" ? t("poll_pending") : t("results_hidden");
  if (poll.tally) renderBars(box, item, poll.tally);
}

function renderTimer() {
  const timer = forum.state?.timer;
  const box = $("timer");
  box.hidden = !timer || timer.duration_ms === 0;
  box.textContent = formatMs(forum.timerRemaining());
  box.dataset.running = String(Boolean(timer?.running));
}
setInterval(renderTimer, 250);
