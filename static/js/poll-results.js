// A poll's results on the phone, projector and host: bars for single and multiple choice
// (common.js renderBars); for a scale, its distribution as columns and its mean; for a ranking, the options by
// their Borda points with the method stated. Each bar has its numbers beside it as text.
import { el, renderBars, t } from "./common.js";

export function renderPollResults(container, item, tally, labels = {}) {
  container.classList.remove("scale-results", "ranking-results");
  if (item.choice === "scale") renderScale(container, item, tally);
  else if (item.choice === "ranking") renderRanking(container, item, tally);
  else renderBars(container, item, tally, labels);
}

// A scale: a column per point, its count and its share of the voters above it (the text the
// column stands for), then the ends' words and the mean.
function renderScale(container, item, tally) {
  const counts = tally?.counts ?? {};
  const voters = tally?.voters ?? 0;
  const top = Math.max(0, ...Object.values(counts));
  const columns = item.options.map((option) => {
    const n = counts[option.id] ?? 0;
    const share = voters ? Math.round((n / voters) * 100) : 0;
    const fill = el("span", { class: "scale-fill" });
    fill.style.height = `${top ? (n / top) * 100 : 0}%`;
    return el(
      "li",
      { class: n > 0 && n === top ? "scale-col leader" : "scale-col", "data-option": option.id },
      el("span", { class: "scale-point", text: option.label }),
      // Wraps after the dot where eleven narrow columns can't hold it on one line.
      el("span", { class: "bar-count", text: `${n} · ${share}%` }),
      el("span", { class: "scale-track", "aria-hidden": "true" }, fill),
    );
  });
  const nodes = [el("ol", { class: "scale-chart" }, ...columns)];
  const ends = item.scale_labels ?? [];
  if (ends.length === 2) {
    const first = el("span", { text: `${item.options[0].label}: ${ends[0]}` });
    nodes.push(el("p", { class: "scale-ends" }, first, el("span", { text: `${item.options.at(-1).label}: ${ends[1]}` })));
  }
  const mean = tally?.mean;
  const meanText = mean == null ? t("scale_no_mean") : t("scale_mean", { mean: mean.toFixed(2) });
  container.classList.add("scale-results");
  container.replaceChildren(
    el("p", { class: "scale-mean", text: meanText }),
    ...nodes,
    el("p", { class: "bar-total", text: t("voters_count", { n: voters }) }),
  );
  container.dataset.version = String(tally?.version ?? 0);
}

// A ranking: the options by points, most first; options with the same points share a place.
function renderRanking(container, item, tally) {
  const counts = tally?.counts ?? {};
  const voters = tally?.voters ?? 0;
  const n = item.options.length;
  const most = voters * (n - 1); // every voter putting one option first
  const ordered = [...item.options].sort((a, b) => (counts[b.id] ?? 0) - (counts[a.id] ?? 0));
  const rows = ordered.map((option) => {
    const points = counts[option.id] ?? 0;
    const place = 1 + ordered.filter((o) => (counts[o.id] ?? 0) > points).length;
    const tied = ordered.filter((o) => (counts[o.id] ?? 0) === points).length > 1;
    const bar = el("span", { class: "bar-fill" });
    bar.style.width = `${most ? (points / most) * 100 : 0}%`;
    const row = el(
      "div",
      { class: place === 1 && points > 0 ? "bar-row leader" : "bar-row", "data-option": option.id },
      el("span", { class: "bar-label" }, el("span", { class: "rank-place", text: `${tied ? "=" : ""}${place}.` }), option.label),
      el("span", { class: "bar-track", "aria-hidden": "true" }, bar),
      el("span", { class: "bar-count", text: t(points === 1 ? "ranking_point" : "ranking_points", { n: points }) }),
    );
    row.dataset.points = String(points);
    row.dataset.place = String(place);
    return row;
  });
  container.classList.add("ranking-results");
  container.replaceChildren(
    ...rows,
    el("p", { class: "bar-total", text: t("voters_count", { n: voters }) }),
    el("p", { class: "note ranking-method", text: t("ranking_method", { n, first: n - 1 }) }),
  );
  container.dataset.version = String(tally?.version ?? 0);
}
