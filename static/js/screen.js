// The projector: join code and QR, the current item, live result bars once revealed, the timer;
// on a board, the post being answered, the most agreed posts and the answered ones.
import {
  $,
  config,
  connect,
  displayName,
  el,
  formatMs,
  ForumState,
  isBoard,
  renderBars,
  renderSelection,
  sortPosts,
  syncList,
  t,
} from "./common.js";
import { renderScreenShift } from "./shift.js";
import { renderCloud } from "./wordcloud.js";

const TOP_POSTS = 8; // at most, and fewer if the screen can't hold them at a readable size
const TOP_POSTS_KEPT = 3; // shown even if the screen must cut them short
const ANSWERED_SHOWN = 5;

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
socket.on("board", (board) => {
  if (forum.setBoard(board) && board.board === forum.current?.id) renderBoard();
});

function render() {
  const item = forum.current;
  if (!item) return;
  // The host blacked the projector out (B on a clicker): black over everything until unblanked.
  $("blanked").hidden = !forum.state.blank;
  renderScreenShift(forum.state, $("shift")); // over the stage while the host shows it
  // Once the host publishes the selection, the room sees its ranked breakdown in place of the
  // item, until the host withdraws it.
  const selection = forum.state.selection;
  const published = Boolean(selection?.published && selection.result);
  document.body.dataset.selection = String(published);
  $("selection").hidden = !published;
  if (!published) showPublishedDigest(null);
  if (published) {
    $("item-title").textContent = t("selection_title");
    for (const id of ["poll-question", "results", "results-note", "board", "timer"]) $(id).hidden = true;
    renderSelection($("selection-result"), selection.result);
    showPublishedDigest(selection.published_seq);
    return;
  }
  $("item-title").textContent = item.title;
  if (isBoard(item)) document.body.dataset.board = item.id;
  else delete document.body.dataset.board;
  $("poll-question").hidden = item.kind !== "poll";
  $("poll-question").textContent = item.question ?? "";
  renderResults();
  renderBoard();
  renderTimer();
}

function renderResults() {
  if (document.body.dataset.selection === "true") return;
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
  if (poll.tally) renderBars(box, item, poll.tally, forum.state.group_labels);
}

function renderTimer() {
  if (document.body.dataset.selection === "true") return;
  const timer = forum.state?.timer;
  const box = $("timer");
  box.hidden = !timer || timer.duration_ms === 0;
  box.textContent = formatMs(forum.timerRemaining());
  box.dataset.running = String(Boolean(timer?.running));
}
setInterval(renderTimer, 250);

function renderBoard() {
  if (document.body.dataset.selection === "true") return;
  const item = forum.current;
  const box = $("board");
  box.hidden = !isBoard(item);
  if (box.hidden) return;
  const board = forum.board(item.id);
  if (showWords(item, board)) return;
  const pinned = board.posts.find((post) => post.id === board.pinned && post.state === "visible");
  const open = board.posts.filter((post) => post.state === "visible" && post !== pinned);
  const answered = board.posts.filter((post) => post.state === "answered");
  $("pinned").hidden = !pinned;
  syncList($("pinned-list"), pinned ? [pinned] : [], (p) => p.id, postNode, updatePost);
  syncList($("post-list"), sortPosts(open, "top").slice(0, TOP_POSTS), (p) => p.id, postNode, updatePost);
  $("no-posts").hidden = board.posts.length > 0;
  $("no-posts").textContent = t(item.kind === "ideas" ? "screen_no_ideas" : "screen_no_questions");
  $("answered").hidden = answered.length === 0;
  // The latest posts first: the board does not record when a post was answered.
  const recent = sortPosts(answered, "new").slice(0, ANSWERED_SHOWN);
  syncList($("answered-list"), recent, (p) => p.id, postNode, updatePost);
  box.dataset.version = String(board.version);
  fitBoard();
}

// The projector can't scroll: drop what does not fit, least important first (older answered
// posts down to one, then the lower-ranked posts down to TOP_POSTS_KEPT, then the answered).
function fitBoard() {
  const box = $("board");
  if (box.hidden || forum.current?.kind === "words") return;
  const top = [...$("post-list").children];
  const answered = [...$("answered-list").children];
  for (const node of [...top, ...answered]) node.hidden = false;
  $("answered").hidden = answered.length === 0;
  const overflowing = () => box.scrollHeight > box.clientHeight + 1;
  const dropLast = (nodes, keep) => {
    const shown = nodes.filter((node) => !node.hidden);
    if (shown.length <= keep) return false;
    shown.at(-1).hidden = true;
    return true;
  };
  while (overflowing() && dropLast(answered, 1));
  while (overflowing() && dropLast(top, TOP_POSTS_KEPT));
  while (overflowing() && dropLast(answered, 0));
  if (answered.every((node) => node.hidden)) $("answered").hidden = true;
}
window.addEventListener("resize", fitBoard);

// A word item: its question and the cloud in place of the posts; false for other boards, whose
// posts then show as before.
function showWords(item, board) {
  const words = item.kind === "words";
  $("words").hidden = !words;
  $("post-list").hidden = words; // the other parts are shown or hidden by renderBoard each time
  if (!words) return false;
  for (const id of ["pinned", "no-posts", "answered"]) $(id).hidden = true;
  $("words-question").textContent = item.question ?? "";
  $("words-question").hidden = !item.question;
  const cloud = board.cloud ?? [];
  $("words-empty").hidden = cloud.length > 0;
  $("words-empty").textContent = t("screen_no_words");
  $("board").dataset.version = String(board.version);
  renderCloud($("cloud"), cloud, { fit: $("cloud") });
  return true;
}

function fitWords() {
  const item = forum.current;
  if (item?.kind === "words" && !$("board").hidden) renderCloud($("cloud"), forum.board(item.id).cloud ?? [], { fit: $("cloud") });
}
window.addEventListener("resize", fitWords);

function postNode(post) {
  const number = el("span", { class: "count-number" });
  const count = el("span", { class: "post-count" }, number, el("span", { class: "count-label", text: t("agree") }));
  const text = el("p", { class: "post-text" });
  const name = el("span", { class: "post-name" });
  const edited = el("span", { class: "post-edited", text: t("edited") });
  const node = el(
    "li",
    { class: "post", "data-post": String(post.id) },
    count,
    el("div", { class: "post-body" }, text, el("p", { class: "post-meta" }, name, edited)),
  );
  node.parts = { number, text, name, edited };
  return node;
}

function updatePost(node, post) {
  const { number, text, name, edited } = node.parts;
  number.textContent = String(post.upvotes);
  text.textContent = post.text;
  name.textContent = displayName(post);
  edited.hidden = !post.edited;
  node.dataset.upvotes = String(post.upvotes);
}

// The published result's line in the public record: the room can note its first characters and
// later find the same result, unchanged, in the record anyone may check.
let digestShownFor = null;
async function showPublishedDigest(seq) {
  if (seq === digestShownFor) return;
  digestShownFor = seq;
  $("selection-digest").textContent = "";
  if (!seq) return; // nothing published: nothing to name
  try {
    const response = await fetch(`/record/${encodeURIComponent(config.code)}/published.json`, {
      cache: "no-store",
    });
    if (!response.ok) throw new Error(String(response.status));
    const { digest } = await response.json();
    if (digestShownFor !== seq) return; // withdrawn or republished meanwhile
    $("selection-digest").textContent = t("published_digest", { digest: digest.slice(0, 12) });
  } catch {
    if (digestShownFor === seq) digestShownFor = null; // try again with the next state
  }
}
