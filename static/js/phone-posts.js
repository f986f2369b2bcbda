// How the phone draws a post: open, with its upvote button; answered, with its count; or one's
// own, waiting for the host's approval or hidden by the moderator. Each pair is the create and
// update that syncList takes.
import { displayName, el, t } from "./common.js";

// `isMine(id)`: the post is this phone's; `upvoted(id)`: its upvote shows as on; `onUpvote(id)`:
// the upvote button was tapped.
export function postViews({ isMine, upvoted, onUpvote }) {
  // The text, the name and the little marks under it: every part set as text.
  function postBody() {
    const text = el("p", { class: "post-text" });
    const name = el("span", { class: "post-name" });
    const edited = el("span", { class: "post-edited", text: t("edited") });
    const own = el("span", { class: "post-mine", text: t("your_post") });
    const body = el("div", { class: "post-body" }, text, el("p", { class: "post-meta" }, name, edited, own));
    return { body, text, name, edited, own };
  }

  function fillBody(parts, post) {
    parts.text.textContent = post.text;
    parts.name.textContent = displayName(post);
    parts.edited.hidden = !post.edited;
    parts.own.hidden = !isMine(post.id);
  }

  function postNode(post) {
    const parts = postBody();
    const label = el("span", { class: "upvote-label", text: t("agree") });
    const count = el("span", { class: "upvote-count" });
    const button = el("button", { type: "button", class: "upvote", "aria-pressed": "false" }, label, count);
    button.addEventListener("click", () => onUpvote(post.id));
    const node = el("li", { class: "post", "data-post": String(post.id) }, parts.body, button);
    node.parts = { ...parts, button, count };
    return node;
  }

  function updatePost(node, post) {
    const { button, count } = node.parts;
    fillBody(node.parts, post);
    const up = upvoted(post.id);
    button.setAttribute("aria-pressed", String(up));
    count.textContent = String(post.upvotes);
    node.classList.toggle("mine", isMine(post.id));
  }

  function answeredNode(post) {
    const parts = postBody();
    const count = el("span", { class: "post-count" });
    const node = el("li", { class: "post", "data-post": String(post.id) }, parts.body, count);
    node.parts = { ...parts, count };
    return node;
  }

  function updateAnswered(node, post) {
    fillBody(node.parts, post);
    node.parts.count.textContent = t("agreed_by", { n: post.upvotes });
  }

  // One's own post not on the board: waiting for approval, or hidden by the moderator (which
  // only its author is told).
  function pendingNode(post) {
    const parts = postBody();
    const badge = el("span", { class: "post-waiting" });
    const node = el("li", { class: "post waiting", "data-post": String(post.id) }, parts.body, badge);
    node.parts = { ...parts, badge };
    return node;
  }

  function updatePending(node, post) {
    fillBody(node.parts, post);
    node.parts.own.hidden = true;
    const hidden = post.state === "hidden";
    node.classList.toggle("hidden-by-moderator", hidden);
    node.dataset.state = post.state;
    node.parts.badge.textContent = t(hidden ? "hidden_by_moderator" : "waiting_approval");
  }

  return { postNode, updatePost, answeredNode, updateAnswered, pendingNode, updatePending };
}
