// A Q&A or idea board with its moderation controls: the approval queue, every post with the
// buttons for its state, the edit, merge and hide-author tools, and removing hidden posts for
// good. Shared by the host's screen and the moderator's; each page has the same elements
// (templates/board-moderation.html) and sends the commands through its own socket.
import { $, displayName, el, isBoard, sortPosts, syncList, t } from "./common.js";
import { renderCloud } from "./wordcloud.js";

// `forum`: the page's ForumState; `command(event, payload)` resolves to whether the command was
// accepted; `send(event, payload)` to the ack, or null; `showMessage(text, kind)` says so.
// `hostTools`: hiding every post of an author at once and removing hidden posts for good, which
// are the host's alone (the moderator's page goes without them).
export function boardModeration({ forum, command, send, showMessage, hostTools = true }) {
  let sortOrder = "top";
  let shown = null; // the agenda item whose board is drawn

  // Draws `item`'s board, or hides the board if `item` is not one.
  function render(item) {
    shown = item;
    const box = $("board");
    box.hidden = !isBoard(item);
    if (box.hidden) return;
    box.dataset.board = item.id;
    const board = forum.board(item.id);
    const posts = board.posts.filter((post) => post.state !== "merged");
    const byState = (state) => posts.filter((post) => post.state === state);
    const pinned = posts.find((post) => post.id === board.pinned && post.state === "visible");
    const queue = byState("pending");
    const open = byState("visible").filter((post) => post !== pinned);
    const answered = byState("answered");
    const hidden = byState("hidden");
    const update = (node, post) => updatePost(node, post, board);
    const list = (id, items) => syncList($(id), items, (p) => p.id, postNode, update);

    $("board-summary").textContent = t(item.moderated ? "moderated_note" : "unmoderated_note");
    // A word item's cloud as the room sees it: only the shown answers count.
    const words = item.kind === "words";
    $("cloud-box").hidden = !words;
    if (words) {
      renderCloud($("cloud"), board.cloud);
      $("cloud-empty").hidden = (board.cloud ?? []).length > 0;
    }
    $("pinned").hidden = !pinned;
    list("pinned-list", pinned ? [pinned] : []);
    $("queue").hidden = queue.length === 0 && !item.moderated;
    $("queue-title").textContent = t("queue_title", { n: queue.length });
    list("queue-list", sortPosts(queue, "new").reverse()); // the oldest waits least
    $("posts-title").textContent = t("shown_title", { n: open.length });
    list("post-list", sortPosts(open, sortOrder));
    $("no-posts").hidden = open.length > 0 || Boolean(pinned);
    $("answered").hidden = answered.length === 0;
    list("answered-list", sortPosts(answered, sortOrder));
    $("hidden-posts").hidden = hidden.length === 0;
    $("purge-hidden").textContent = t("purge_hidden");
    $("purge-hidden").hidden = !hostTools;
    if ($("purge-tool").dataset.board !== item.id || hidden.length === 0) closePurge();
    list("hidden-list", sortPosts(hidden, "new"));
    $("sort-top").setAttribute("aria-pressed", String(sortOrder === "top"));
    $("sort-new").setAttribute("aria-pressed", String(sortOrder === "new"));
  }

  // One post with every control a moderator may need; which show depends on the post's state.
  function postNode(post) {
    const count = el("span", { class: "post-count" });
    const number = el("span", { class: "post-id", text: `#${post.id}` });
    const name = el("span", { class: "post-name" });
    const badge = el("span", { class: "post-badge" });
    const edited = el("span", { class: "post-edited", text: t("edited") });
    const text = el("p", { class: "post-text" });
    const originalText = el("span", { class: "original-text" });
    const originalLabel = el("span", { class: "label", text: t("original") });
    const original = el("p", { class: "post-original" }, originalLabel, " ", originalText);
    const button = (key, cls, handler) => {
      const b = el("button", { type: "button", class: cls, text: t(key) });
      b.addEventListener("click", handler);
      return b;
    };
    const id = post.id;
    const node = el("li", { class: "post host-post", "data-post": String(id) });
    const tool = el("div", { class: "post-tool" });
    const buttons = {
      approve: button("approve", "approve primary", () => command("post_approve", { post: id })),
      restore: button("show_again", "restore", () => command("post_approve", { post: id })),
      pin: button("pin", "pin", () => command("post_pin", { board: node.board, post: id })),
      unpin: button("unpin", "unpin", () => command("post_pin", { board: node.board, post: 0 })),
      answer: button("mark_answered", "answer", () => command("post_answer", { post: id })),
      edit: button("edit", "edit", () => openEdit(node)),
      merge: button("merge", "merge", () => openMerge(node)),
      hide: button("hide", "hide", () => command("post_hide", { post: id })),
    };
    if (hostTools) {
      buttons.hideAuthor = button("hide_author", "hide-author", () => openHideAuthor(node));
    }
    node.append(
      el("div", { class: "post-head" }, count, number, name, badge, edited),
      text,
      original,
      el("div", { class: "post-actions" }, ...Object.values(buttons)),
      tool,
    );
    node.parts = { count, name, badge, edited, text, original, originalText, buttons, tool };
    return node;
  }

  function updatePost(node, post, board) {
    const { count, name, badge, edited, text, original, originalText, buttons } = node.parts;
    node.board = board.board;
    node.post = post;
    node.dataset.state = post.state;
    count.textContent = t("agreed_by", { n: post.upvotes });
    name.textContent = displayName(post);
    badge.textContent = post.state === "pending" ? t("waiting_approval") : "";
    badge.hidden = post.state !== "pending";
    edited.hidden = !post.edited;
    text.textContent = post.text;
    original.hidden = !post.edited || !post.original;
    originalText.textContent = post.original ?? "";
    const pinned = board.pinned === post.id;
    const state = post.state;
    buttons.approve.hidden = state !== "pending";
    buttons.restore.hidden = state !== "hidden";
    buttons.pin.hidden = state !== "visible" || pinned;
    buttons.unpin.hidden = !pinned;
    buttons.answer.hidden = state !== "visible";
    buttons.merge.hidden = state === "hidden";
    buttons.hide.hidden = state === "hidden";
  }

  function closeTool(node) {
    node.parts.tool.replaceChildren();
    node.classList.remove("editing");
  }

  // A small form under the post: the text to correct; the original stays on record.
  function openEdit(node) {
    const post = node.post;
    const field = el("textarea", { rows: "3", "aria-label": t("edit_label") });
    field.value = post.text;
    const save = el("button", { type: "submit", class: "primary", text: t("save") });
    const cancel = el("button", { type: "button", text: t("cancel") });
    const form = el("form", { class: "edit-form" }, field, el("div", { class: "tool-buttons" }, save, cancel));
    cancel.addEventListener("click", () => closeTool(node));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      save.disabled = true;
      if (await command("post_edit", { post: post.id, text: field.value })) closeTool(node);
      else save.disabled = false;
    });
    node.parts.tool.replaceChildren(form);
    node.classList.add("editing");
    field.focus();
  }

  // Fold this post into another shown post of the same board: choose the one it duplicates.
  function openMerge(node) {
    const post = node.post;
    const board = forum.board(node.board);
    const targets = sortPosts(
      board.posts.filter((p) => p.id !== post.id && (p.state === "visible" || p.state === "answered")),
      "top",
    );
    if (targets.length === 0) {
      showMessage(t("merge_nothing"));
      return;
    }
    const select = el("select", { "aria-label": t("merge_into") });
    for (const target of targets) {
      const excerpt = [...target.text].length > 60 ? `${[...target.text].slice(0, 60).join("")}…` : target.text;
      select.append(el("option", { value: String(target.id), text: `#${target.id} · ${excerpt}` }));
    }
    const go = el("button", { type: "submit", class: "primary", text: t("merge_confirm") });
    const cancel = el("button", { type: "button", text: t("cancel") });
    const form = el(
      "form",
      { class: "merge-form" },
      el("label", { text: t("merge_into") }, select),
      el("div", { class: "tool-buttons" }, go, cancel),
    );
    cancel.addEventListener("click", () => closeTool(node));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      go.disabled = true;
      if (await command("post_merge", { source: post.id, target: Number(select.value) })) closeTool(node);
      else go.disabled = false;
    });
    node.parts.tool.replaceChildren(form);
    node.classList.add("editing");
    select.focus();
  }

  // Every post this post's author sent to the board, hidden at once: one person's flood, which
  // one post at a time would take minutes. The moderator never learns who the author is.
  function openHideAuthor(node) {
    const post = node.post;
    const go = el("button", { type: "submit", class: "primary", text: t("hide_author_confirm") });
    const cancel = el("button", { type: "button", text: t("cancel") });
    const form = el(
      "form",
      { class: "hide-author-form" },
      el("p", { class: "note", text: t("hide_author_note") }),
      el("div", { class: "tool-buttons" }, go, cancel),
    );
    cancel.addEventListener("click", () => closeTool(node));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      go.disabled = true;
      const reply = await send("post_hide_author", { post: post.id });
      if (reply) {
        closeTool(node);
        showMessage(t("hid_author", { n: reply.hidden }), "ok");
      } else go.disabled = false;
    });
    node.parts.tool.replaceChildren(form);
    node.classList.add("editing");
    go.focus();
  }

  // Hidden posts stay on record and fill the board's stored bound, which hiding a flood of them
  // round after round would reach for good; removing them frees that room. It can't be undone,
  // so the moderator confirms first.
  function closePurge() {
    const tool = $("purge-tool");
    tool.replaceChildren();
    delete tool.dataset.board;
  }

  function openPurge() {
    const board = isBoard(shown) ? shown.id : null;
    if (!board) return;
    const tool = $("purge-tool");
    const go = el("button", { type: "submit", class: "danger", text: t("purge_hidden_confirm") });
    const cancel = el("button", { type: "button", text: t("cancel") });
    const form = el(
      "form",
      { class: "purge-form" },
      el("p", { class: "note", text: t("purge_hidden_note") }),
      el("div", { class: "tool-buttons" }, go, cancel),
    );
    cancel.addEventListener("click", closePurge);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      go.disabled = true;
      const reply = await send("post_purge_hidden", { board });
      if (reply) {
        closePurge();
        showMessage(t("purged_hidden", { n: reply.purged }), "ok");
      } else go.disabled = false;
    });
    tool.dataset.board = board;
    tool.replaceChildren(form);
    go.focus();
  }
  $("purge-hidden").addEventListener("click", openPurge);

  $("sort-top").addEventListener("click", () => {
    sortOrder = "top";
    render(shown);
  });
  $("sort-new").addEventListener("click", () => {
    sortOrder = "new";
    render(shown);
  });

  return { render };
}
