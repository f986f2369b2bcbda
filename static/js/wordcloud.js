// A word item's cloud, as the projector, the phones and the host draw it: the server's
// [[word, count], …] (most frequent first) as a list of words sized by their count. The layout
// is plain and deterministic: the most frequent word in the middle, the others placed outwards
// on either side in turn, wrapped and centred by CSS. Every word is set as text.
import { el, syncList, t } from "./common.js";

const WEIGHTS = 6; // font-size steps, .w1 to .w6 in the stylesheet

// The cloud's words in the order they are laid out: [count-rank 0] in the middle, then 1 on its
// right, 2 on its left, and so on.
export function cloudOrder(cloud) {
  const laid = [];
  cloud.forEach((entry, rank) => (rank % 2 ? laid.push(entry) : laid.unshift(entry)));
  return laid;
}

// The weight (1 to WEIGHTS) of a count between the cloud's least and most.
export function weightOf(count, least, most) {
  if (most <= least) return WEIGHTS;
  return 1 + Math.round(((count - least) / (most - least)) * (WEIGHTS - 1));
}

// Draws `cloud` into `list` (an <ol> or <ul>); `fit`: a projector's box that can't scroll, so
// the least frequent words are left out until the cloud fits inside it.
export function renderCloud(list, cloud, { fit = null, limit = Infinity } = {}) {
  let shown = (cloud ?? []).slice(0, limit);
  const draw = () => {
    const counts = shown.map(([, n]) => n);
    const least = Math.min(...counts);
    const most = Math.max(...counts);
    syncList(list, cloudOrder(shown), ([word]) => word, wordNode, (node, [word, count]) => {
      node.parts.word.textContent = word;
      node.parts.count.textContent = t("cloud_count", { n: count });
      node.className = `cloud-word w${weightOf(count, least, most)}`;
      node.dataset.count = String(count);
    });
  };
  draw();
  if (fit) {
    while (shown.length > 1 && fit.scrollHeight > fit.clientHeight + 1) {
      shown = shown.slice(0, -1);
      draw();
    }
  }
  list.dataset.words = String(shown.length);
}

function wordNode() {
  const word = el("span", { class: "cloud-text" });
  // Read out after the word by a screen reader; not drawn.
  const count = el("span", { class: "visually-hidden" });
  const node = el("li", { class: "cloud-word" }, word, " ", count);
  node.parts = { word, count };
  return node;
}
