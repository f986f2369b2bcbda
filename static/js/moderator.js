// The moderator's screen: at a big forum someone other than the facilitator keeps the Q&A and
// idea boards. Every board of the agenda with its moderation controls, and which item is on now;
// nothing that moves the agenda, polls, the timer or the selection (the server refuses those).
import {
  $,
  config,
  connect,
  el,
  errorText,
  ForumState,
  isBoard,
  keyFromFragment,
  sendCommand,
  showMessage,
  t,
} from "./common.js";
import { boardModeration } from "./moderation.js";

const key = keyFromFragment("moderator");

const forum = new ForumState();
// The board drawn: the one on the agenda now, until the moderator picks another.
let chosen = null;

const socket = connect(
  { role: "moderator", code: config.code, key },
  {
    onSnapshot(reply) {
      forum.setSnapshot(reply);
      render();
    },
    onError(error) {
      showMessage(error.code === "bad_key" ? t("moderator_bad_link") : errorText(error));
    },
  },
);
socket.on("state", (state) => {
  const before = forum.current?.id;
  if (!forum.setState(state, state.now_ms)) return;
  // The agenda moved on to a board: that is the one the room is asking on now.
  if (forum.current?.id !== before && isBoard(forum.current)) chosen = forum.current.id;
  render();
});
socket.on("board", (board) => {
  if (forum.setBoard(board) && board.board === shownBoard()?.id) boards.render(shownBoard());
});

// Sends a moderation command; says plainly when it was refused. Resolves to the ack, or null.
function send(event, payload = {}) {
  return sendCommand(socket, event, payload);
}

async function command(event, payload = {}) {
  return (await send(event, payload)) !== null;
}

const boards = boardModeration({ forum, command, send, showMessage, hostTools: false });

const boardItems = () => forum.state?.items.filter(isBoard) ?? [];

function shownBoard() {
  const items = boardItems();
  const current = isBoard(forum.current) ? forum.current : null;
  return items.find((item) => item.id === chosen) ?? current ?? items[0] ?? null;
}

function render() {
  const state = forum.state;
  const item = forum.current;
  if (!item) return;
  $("now-step").textContent = `${state.current + 1} / ${state.items.length}`;
  $("now-title").textContent = item.title;
  const shown = shownBoard();
  const tabs = boardItems().map((board) => {
    const label = board.id === item.id ? t("board_tab_now", { title: board.title }) : board.title;
    const tab = el("button", {
      type: "button",
      "data-board": board.id,
      "aria-pressed": String(board.id === shown?.id),
      text: label,
    });
    tab.addEventListener("click", () => {
      chosen = board.id;
      render();
    });
    return tab;
  });
  $("board-tabs").replaceChildren(...tabs);
  $("no-boards").hidden = tabs.length > 0;
  $("board-title").textContent = shown?.title ?? "";
  boards.render(shown);
}
