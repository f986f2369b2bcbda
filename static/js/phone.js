// The participant's phone: the current item, the ballot, and results when the host allows;
// on a Q&A or idea board, the post form, the posts with an upvote each, and one's own posts.
import {
  $,
  config,
  connect,
  el,
  errorText,
  formatMs,
  ForumState,
  isBoard,
  opId,
  pollStatusText,
  renderSelection,
  sendUntilAcked,
  sortPosts,
  syncList,
  t,
} from "./common.js";
import { codeFromLink, redeem, renderCodeBox } from "./codes.js";
import { isRanking, isScale, RankingBallot, scaleBallot } from "./phone-poll-kinds.js";
import { postViews } from "./phone-posts.js";
import { renderPollResults } from "./poll-results.js";
import { answersUsed, renderPhoneWords } from "./phone-words.js";
import { renderPhoneShift } from "./shift.js";
import { timerAnnouncer } from "./timer-announce.js";

const forum = new ForumState();
let mine = {};
let pending = null; // {poll, choices, op}: a vote sent and not yet acked
let ranking = null; // the RankingBallot on show, for a ranking poll
let myUpvotes = new Set(); // post ids this phone has upvoted (post ids are unique in the forum)
let myPosts = new Map(); // id -> this phone's own post as last heard, pending ones too
let pendingPost = null; // {board, text, name?, op}: a post sent and not yet acked
const pendingUpvotes = new Map(); // post id -> {post, up, op}: upvotes sent and not yet acked
let sortOrder = "top";
let eligibility = null; // {mode, codes, voter, group}: whether this phone needs a ballot code
let cardCode = codeFromLink(); // a code from a card's QR link, redeemed once connected
// Refusals that mean this phone's code went (moved to another phone, or revoked): start again.
const LOST_CODE = new Set(["not_eligible", "code_revoked"]);

const socket = connect(
  { role: "participant", code: config.code },
  {
    onSnapshot(reply) {
      applySnapshot(reply);
      if (cardCode) {
        $("code-input").value = cardCode; // there to send again if this try is lost
        cardCode = null;
        redeem(socket, $("code-input").value, redeemed);
      }
    },
    onError(error) {
      $("vote-state").textContent = error.message;
      $("board-state").textContent = errorText(error);
    },
  },
);

function applySnapshot(reply) {
  forum.setSnapshot(reply);
  $("item-preview")?.remove(); // the page's first look at the item, now drawn live
  eligibility = reply.eligibility ?? null;
  mine = reply.mine ?? {};
  myUpvotes = new Set(Object.values(reply.my_upvotes ?? {}).flat());
  myPosts = new Map((reply.my_posts ?? []).map((post) => [post.id, post]));
  render(true);
  if (pending) send();
  if (pendingPost) sendPost();
  for (const upvote of pendingUpvotes.values()) sendUpvote(upvote);
}

// After a code is redeemed (or found gone), the phone starts again from a snapshot: its
// ballots, posts and agreements are now the code's voter's.
async function refresh() {
  try {
    const reply = await socket.timeout(8000).emitWithAck("snapshot", {});
    if (reply.ok) applySnapshot(reply);
  } catch {
    // The connection's own snapshot on reconnect will do it.
  }
}

function redeemed(reply) {
  if (reply.ok) refresh();
}

$("code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  redeem(socket, $("code-input").value, redeemed);
});
socket.on("state", (state) => forum.setState(state, state.now_ms) && render(false));
socket.on("tally", (tally) => forum.setTally(tally) && renderResults());
socket.on("board", (board) => {
  if (forum.setBoard(board) && board.board === forum.current?.id) renderBoard();
});

function render(resetBallot) {
  const item = forum.current;
  if (!item) return;
  const state = forum.state;
  // The published selection result, below whatever item is on.
  const result = state.selection?.published ? state.selection.result : null;
  $("selection-box").hidden = !result;
  renderSelection($("selection-result"), result);
  renderPhoneShift(state, $("shift-box"));
  $("item-step").textContent = `${state.current + 1} / ${state.items.length}`;
  $("item-title").textContent = item.title;
  const { forumNeeds, pollNeeds } = renderCodeBox(eligibility, item, state.group_labels);
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
    ranking?.setDisabled(!open);
    if (open) limitChoices();
    const incomplete = ranking !== null && !ranking.complete();
    $("vote").disabled = !open || pending !== null || forumNeeds || pollNeeds || incomplete;
    $("vote").hidden = !open || forumNeeds || pollNeeds;
    showVoteState(item);
    renderResults();
  }
  renderBoard();
  $("post-form").hidden = forumNeeds; // a phone without its code can't post here
  renderTimer();
}

function drawBallot(item) {
  const pollBox = $("poll");
  pollBox.dataset.poll = item.id;
  ranking = null;
  if (isRanking(item) || isScale(item)) {
    const chosen = mine[item.id]?.choices ?? [];
    if (isRanking(item)) ranking = new RankingBallot(item, chosen, () => render(false));
    $("ballot-hint").textContent = t(isRanking(item) ? "ranking_hint" : "scale_hint");
    $("options").replaceChildren(...(ranking ? ranking.nodes : scaleBallot(item, chosen)));
    return;
  }
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
  if (poll.tally) renderPollResults(box, item, poll.tally, forum.state.group_labels);
}

const announceTimer = timerAnnouncer($("timer-announce"));
function renderTimer() {
  const timer = forum.state?.timer;
  const box = $("item-timer");
  box.hidden = !timer || timer.duration_ms === 0;
  box.textContent = formatMs(forum.timerRemaining());
  box.dataset.running = String(Boolean(timer?.running));
  announceTimer(forum.current?.id, timer, forum.timerRemaining());
}
setInterval(renderTimer, 250);

$("ballot").addEventListener("submit", (event) => {
  event.preventDefault();
  const item = forum.current;
  const checked = [...$("options").querySelectorAll("input:checked")].map((i) => i.value);
  const choices = ranking ? ranking.choices() : checked;
  if (!item || !choices?.length || pending) return;
  pending = { poll: item.id, choices, op: opId() };
  render(false);
  send();
});

// Sends the pending vote until it is acked. A resend carries the same op id, so the server
// counts it once whatever happens to the connection in between.
function send() {
  return sendUntilAcked(socket, "vote", () => pending, voteAnswered, {
    onTransient: () => {
      $("vote-state").textContent = t("sending");
    },
  });
}

function voteAnswered(vote, reply) {
  pending = null;
  if (reply.ok) {
    mine[vote.poll] = { choices: reply.choices, version: reply.version };
    render(false);
  } else {
    render(true);
    $("vote-state").textContent = errorText(reply.error);
    if (LOST_CODE.has(reply.error.code)) refresh();
  }
}

// -- Boards ------------------------------------------------------------------------------------

// Characters as the server counts them (code points, surrounding space trimmed).
const postLength = (text) => [...text.trim()].length;

function setUpForm(item) {
  const box = $("board");
  box.dataset.board = item.id;
  const label = { ideas: "post_label_ideas", words: "post_label_words" }[item.kind] ?? "post_label_qna";
  $("post-label").textContent = item.kind === "words" && item.question ? item.question : t(label);
  $("post-text").rows = item.kind === "words" ? 1 : 3;
  const anonymous = item.names === "anonymous";
  const required = item.names === "required";
  $("post-name-row").hidden = anonymous;
  $("post-name").required = required;
  $("post-name-label").textContent = t(required ? "nickname" : "nickname_optional");
  $("post-state").textContent = "";
  $("board-state").textContent = "";
  $("no-posts").textContent = t(item.kind === "ideas" ? "no_ideas" : "no_questions");
  updateCounter();
}

function updateCounter() {
  const item = forum.current;
  if (!isBoard(item)) return;
  const length = postLength($("post-text").value);
  const over = length - item.max_length;
  const counter = $("post-counter");
  const count = `${length} / ${item.max_length}`;
  counter.textContent = over > 0 ? `${count} · ${t("too_long", { n: over })}` : count;
  counter.classList.toggle("over", over > 0);
  $("post-send").disabled = pendingPost !== null || over > 0 || answersUsed(item, myPosts);
}

function renderBoard() {
  const item = forum.current;
  const box = $("board");
  box.hidden = !isBoard(item);
  if (box.hidden) return;
  if (box.dataset.board !== item.id) setUpForm(item);
  const board = forum.board(item.id);
  const posts = board.posts;
  const shown = new Set(posts.map((post) => post.id));
  // The board's own copy is newer than what this phone last heard of its own posts.
  // (A word item's board names its shown answers by id and state only: the text stays this phone's.)
  for (const post of posts) if (myPosts.has(post.id)) myPosts.set(post.id, { ...myPosts.get(post.id), ...post, board: item.id });
  for (const id of board.hidden ?? []) if (myPosts.has(id)) myPosts.get(id).state = "hidden";
  if (renderPhoneWords(item, board, myPosts)) {
    renderSending();
    return;
  }
  const waiting = [...myPosts.values()].filter(
    (post) => post.board === item.id && ["pending", "hidden"].includes(post.state) && !shown.has(post.id),
  );
  $("my-pending").hidden = waiting.length === 0;
  syncList($("my-pending-list"), sortPosts(waiting, "new"), (p) => p.id, pendingNode, updatePending);

  const pinned = posts.find((post) => post.id === board.pinned && post.state === "visible");
  $("pinned").hidden = !pinned;
  syncList($("pinned-list"), pinned ? [pinned] : [], (p) => p.id, postNode, updatePost);
  const open = posts.filter((post) => post.state === "visible" && post !== pinned);
  syncList($("post-list"), sortPosts(open, sortOrder), (p) => p.id, postNode, updatePost);
  const answered = posts.filter((post) => post.state === "answered");
  $("answered").hidden = answered.length === 0;
  syncList($("answered-list"), sortPosts(answered, sortOrder), (p) => p.id, answeredNode, updateAnswered);
  $("no-posts").hidden = posts.length > 0;
  $("sort-switch").hidden = open.length + answered.length < 2;
  $("sort-top").setAttribute("aria-pressed", String(sortOrder === "top"));
  $("sort-new").setAttribute("aria-pressed", String(sortOrder === "new"));
  renderSending();
}

function renderSending() {
  const sending = pendingPost !== null;
  $("post-text").readOnly = sending;
  $("post-name").readOnly = sending;
  if (sending) $("post-state").textContent = t("sending");
  updateCounter();
}

const { postNode, updatePost, answeredNode, updateAnswered, pendingNode, updatePending } = postViews({
  isMine: (id) => myPosts.has(id),
  upvoted: (id) => upvoteShown(id),
  onUpvote: (id) => toggleUpvote(id),
});

const upvoteShown = (id) => (pendingUpvotes.has(id) ? pendingUpvotes.get(id).up : myUpvotes.has(id));

function toggleUpvote(id) {
  const upvote = { post: id, up: !upvoteShown(id), op: opId() };
  pendingUpvotes.set(id, upvote);
  $("board-state").textContent = "";
  renderBoard();
  sendUpvote(upvote);
}

// Like a vote: resent with the same op until acked, so it is counted once whatever happens.
// A later tap on the same post replaces it; the earlier one's late ack is then ignored.
function sendUpvote(upvote) {
  const current = () => (pendingUpvotes.get(upvote.post) === upvote ? upvote : null);
  return sendUntilAcked(socket, "upvote", current, upvoteAnswered);
}

function upvoteAnswered(upvote, reply) {
  pendingUpvotes.delete(upvote.post);
  if (reply.ok) {
    if (reply.up) myUpvotes.add(reply.post);
    else myUpvotes.delete(reply.post);
    // The ack's count includes this upvote; the next board message will agree.
    const post = forum.board(forum.current?.id).posts.find((p) => p.id === reply.post);
    if (post) post.upvotes = reply.upvotes;
  } else {
    $("board-state").textContent = errorText(reply.error);
    if (LOST_CODE.has(reply.error.code)) refresh();
  }
  renderBoard();
}

$("post-text").addEventListener("input", updateCounter);

// The nickname is remembered on this phone, so a reload or the next board does not ask again.
const nameKey = `townhall-name-${config.code}`;
try {
  $("post-name").value = localStorage.getItem(nameKey) ?? "";
} catch {
  // Storage may be off (private browsing); the field just starts empty.
}
function rememberName(name) {
  try {
    localStorage.setItem(nameKey, name);
  } catch {
    // As above.
  }
}

$("post-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const item = forum.current;
  if (!isBoard(item) || pendingPost) return;
  const text = $("post-text").value.trim();
  const name = $("post-name").value.trim();
  const state = $("post-state");
  state.classList.remove("error");
  const problem =
    (!text && "empty_post") ||
    (postLength(text) > item.max_length && "post_too_long") ||
    (item.names === "required" && !name && "name_required");
  if (problem) {
    state.textContent = errorText({ code: problem });
    state.classList.add("error");
    return;
  }
  pendingPost = { board: item.id, text, op: opId() };
  if (item.names !== "anonymous" && name) {
    pendingPost.name = name;
    rememberName(name);
  }
  renderBoard();
  sendPost();
});

function sendPost() {
  return sendUntilAcked(socket, "post", () => pendingPost, postAnswered);
}

function postAnswered(post, reply) {
  pendingPost = null;
  const state = $("post-state");
  if (reply.ok) {
    if (!myPosts.has(reply.post)) {
      myPosts.set(reply.post, {
        id: reply.post,
        board: post.board,
        name: post.name ?? "",
        text: post.text,
        state: reply.state,
        edited: false,
        upvotes: 0,
      });
    }
    $("post-text").value = "";
    state.classList.remove("error");
    renderBoard();
    state.textContent = reply.state === "pending" ? t("posted_pending") : t("posted");
  } else {
    renderBoard();
    state.textContent = errorText(reply.error);
    state.classList.add("error");
    if (LOST_CODE.has(reply.error.code)) refresh();
  }
}

function setSort(order) {
  sortOrder = order;
  renderBoard();
}
$("sort-top").addEventListener("click", () => setSort("top"));
$("sort-new").addEventListener("click", () => setSort("new"));
