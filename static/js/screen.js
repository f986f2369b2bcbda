// The projector: join code and QR, the current item, live result bars once revealed, the timer;
// on a board, the post being answered, the most agreed posts and the answered ones. Everything
// fits the screen, whatever its size: the stage's type shrinks and the least important posts go.
import {
  $,
  config,
  connect,
  displayName,
  el,
  formatMs,
  ForumState,
  isBoard,
  renderSelection,
  sortPosts,
  syncList,
  t,
} from "./common.js";
import { renderPollResults } from "./poll-results.js";
import { renderScreenShift } from "./shift.js";
import { renderCloud } from "./wordcloud.js";

const TOP_POSTS = 8; // at most, and fewer if the screen can't hold them at a readable size
const TOP_POSTS_KEPT = 3; // kept at full size before the type shrinks; at the smallest, fewer
const FIT_SCALES = [1, 0.9, 0.8, 0.72, 0.64, 0.57, 0.5, 0.44, 0.38];
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
socket.on("turnout", (turnout) => forum.setTurnout(turnout) && renderResults());
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
    for (const id of ["poll-question", "results", "poll-options", "turnout", "results-note", "board", "timer"]) {
      $(id).hidden = true;
    }
    renderSelection($("selection-result"), selection.result);
    showPublishedDigest(selection.published_seq);
    fit();
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
  fit();
}

// A poll: its bars once the room may see them; before that its options and, once voting has
// opened, how many have voted.
function renderResults() {
  if (document.body.dataset.selection === "true") return;
  const item = forum.current;
  const box = $("results");
  const note = $("results-note");
  const options = $("poll-options");
  const turnout = $("turnout");
  if (item?.kind !== "poll") {
    for (const node of [box, note, options, turnout]) node.hidden = true;
    return;
  }
  const poll = forum.poll(item.id);
  box.hidden = !poll.tally;
  options.hidden = note.hidden = Boolean(poll.tally);
  turnout.hidden = Boolean(poll.tally) || poll.status === "pending";
  note.textContent = poll.status === "pending" ? t("poll_pending") : t("results_hidden");
  turnout.textContent = t("voted_count", { n: poll.voters ?? 0 });
  if (poll.tally) renderPollResults(box, item, poll.tally, forum.state.group_labels);
  else {
    options.dataset.options = String(item.options.length);
    syncList(options, item.options, (o) => o.id, optionNode, (node, o) => {
      node.textContent = o.label;
    });
  }
  fit();
}

const optionNode = (option) => el("li", { class: "poll-option", "data-option": option.id });

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
  fit();
}

// The projector can't scroll. At each size of type, from the largest down, drop the board's
// posts that do not fit, least important first; stop at the first size where the stage fits.
function fit() {
  const stage = $("stage");
  const fits = () => stage.scrollHeight <= stage.clientHeight + 1 && stage.scrollWidth <= stage.clientWidth + 1;
  FIT_SCALES.some((scale, n) => {
    stage.style.setProperty("--fit", String(scale));
    return fitBoard(n === FIT_SCALES.length - 1 ? 0 : TOP_POSTS_KEPT) && fits();
  });
}
window.addEventListener("resize", fit);

// Drops older answered posts down to one, then the lower-ranked posts down to `keep`, then the
// answered; says whether the board now fits.
function fitBoard(keep) {
  const box = $("board");
  if (box.hidden || forum.current?.kind === "words") return true;
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
  while (overflowing() && dropLast(top, keep));
  while (overflowing() && dropLast(answered, 0));
  if (answered.every((node) => node.hidden)) $("answered").hidden = true;
  return !overflowing();
}

// The join code on one line across the side panel, however many characters it has.
const joinCode = document.querySelector(".join-code");
joinCode.style.setProperty("--chars", String(joinCode.textContent.trim().length));

// L switches the projector's language (Korean, English) from the keyboard, no mouse needed; the
// address keeps the choice, so a reload stays in it.
document.addEventListener("keydown", (event) => {
  if (event.key.toLowerCase() !== "l" || event.ctrlKey || event.metaKey || event.altKey) return;
  const languages = ["ko", "en"];
  const next = languages[(languages.indexOf(config.lang) + 1) % languages.length];
  const address = new URL(location.href);
  address.searchParams.set("lang", next);
  location.replace(address.href);
});

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
