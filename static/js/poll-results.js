// A poll's results on the phone, projector and host: bars for single and multiple choice
// (common.js renderBars); for a scale, its distribution and mean; for a ranking, the options by
// their Borda points with the method stated. Each bar has its numbers beside it as text.
import { el, renderBars, t } from "./common.js";

export function renderPollResults(container, item, tally, labels = {}) {
  container.classList.remove("scale-results", "ranking-results");
  if (item.choice === "scale") renderScale(container, item, tally);
  else if (item.choice === "ranking") renderRanking(container, item, tally);
  else renderBars(container, item, tally, labels);
}

// A scale: one bar per point, its count and its share of the voters, then the mean.
function renderScale(container, item, tally) {
  const counts = tally?.counts ?? {};
  const voters = tally?.voters ?? 0;
  const top = Math.max(0, ...Object.values(counts));
  const ends = item.scale_labels ?? [];
  const rows = item.options.map((option, i) => {
    const n = counts[option.id] ?? 0;
    const share = voters ? Math.round((n / voters) * 100) : 0;
    const bar = el("span", { class: "bar-fill" });
    bar.style.width = `${voters ? (n / voters) * 100 : 0}%`;
    const end = ends.length === 2 && (i === 0 || i === item.options.length - 1);
    const label = end ? `${option.label} · ${ends[i === 0 ? 0 : 1]}` : option.label;
    return el(
      "div",
      { class: n > 0 && n === top ? "bar-row leader" : "bar-row", "data-option": option.id },
      el("span", { class: "bar-label", text: label }),
      el("span", { class: "bar-track", "aria-hidden": "true" }, bar),
      el("span", { class: "bar-count", text: `${n} · ${share}%` }),
    );
  });
  const mean = tally?.mean;
  const meanText = mean == null ? t("scale_no_mean") : t("scale_mean", { mean: mean.toFixed(2) });
  container.classList.add("scale-results");
  container.replaceChildren(
    el("p", { class: "scale-mean", text: meanText }),
    ...rows,
    el("p", { class: "bar-total", text: `${voters} ${t("voters")}` }),
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
    el("p", { class: "bar-total", text: `${voters} ${t("voters")}` }),
    el("p", { class: "note ranking-method", text: t("ranking_method", { n, first: n - 1 }) }),
  );
  container.dataset.version = String(tally?.version ?? 0);
}
