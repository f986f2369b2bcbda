// A word item on the phone: the answer box (set up by phone.js as for any board), this phone's
// own answers with what became of each, and the cloud as the room sees it. No one's answers
// but one's own are listed, and none takes an upvote.
import { $, el, sortPosts, syncList, t } from "./common.js";
import { renderCloud } from "./wordcloud.js";

const STATE_TEXT = { pending: "waiting_approval", hidden: "answer_hidden" };

// Draws `item`'s word board from `board` and `mine` (this phone's posts, by id); false if the
// item is not a word item, so phone.js draws its posts instead.
export function renderPhoneWords(item, board, mine) {
  const words = item.kind === "words";
  $("post-list").hidden = words; // the other lists are shown or hidden by phone.js each time
  $("my-answers").hidden = !words;
  $("phone-cloud-box").hidden = !words;
  if (!words) return false;
  for (const id of ["my-pending", "pinned", "sort-switch", "answered", "no-posts"]) $(id).hidden = true;
  const answers = [...mine.values()].filter((post) => post.board === item.id && post.state !== "merged");
  syncList($("my-answers-list"), sortPosts(answers, "new").reverse(), (p) => p.id, answerNode, updateAnswer);
  $("my-answers-title").textContent = t("my_answers", { n: answers.length, most: item.answers_per_person });
  const cloud = board.cloud ?? [];
  renderCloud($("phone-cloud"), cloud);
  $("phone-cloud-empty").hidden = cloud.length > 0;
  return true;
}

// Whether this phone has sent all the answers the item allows.
export const answersUsed = (item, mine) =>
  item.kind === "words" &&
  [...mine.values()].filter((post) => post.board === item.id).length >= item.answers_per_person;

function answerNode() {
  const text = el("span", { class: "post-text" });
  const state = el("span", { class: "answer-state" });
  const node = el("li", { class: "post answer" }, text, " ", state);
  node.parts = { text, state };
  return node;
}

function updateAnswer(node, post) {
  node.parts.text.textContent = post.text;
  const key = STATE_TEXT[post.state];
  node.parts.state.textContent = key ? t(key) : "";
  node.parts.state.hidden = !key;
  node.dataset.state = post.state;
}
