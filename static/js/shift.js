// How deliberation moved opinion (docs/protocol.md, state.shift): the pre-vote's options on the
// left, the final vote's on the right, and a band for each move, as wide as the number of people
// who made it. Plain SVG for the bands; the labels are HTML beside them, so they wrap and stay
// large. Used by the projector, the phones and the host. Every label and group name is set with
// textContent: a promoted idea's label is a participant's words.
import { el, t } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
// Told apart on the projector's dark ground and the pages' white one.
const PALETTE = ["#4c8dff", "#f59e0b", "#22c55e", "#ec4899", "#a78bfa", "#14b8a6", "#ef4444", "#eab308", "#6366f1", "#84cc16", "#f97316", "#06b6d4"];
const HEIGHT = 1000; // the drawing's own units; it is stretched to the space it is given
const WIDTH = 1000;
const GAP = 28; // between two options on one side
const SLOT = 110; // the least room an option's label gets, however few chose it
const COUNTED = 45; // a band this wide or wider carries its count
let drawings = 0; // each drawing's hatch pattern needs an id of its own

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

const signed = (n) => (n > 0 ? `+${n}` : String(n));
const fixed1 = (n) => (n > 0 ? `+${n.toFixed(1)}` : n.toFixed(1));
// A group by its name on screen ([eligibility] labels), else its id; "" is the phones with no code.
export const groupName = (group, labels = {}) => (group === "" ? t("shift_no_code") : (labels[group] ?? group));

// The headline: how many of the people in both polls changed their mind.
export function headline(pop) {
  if (pop.changed == null) return t("shift_headline_both", { both: pop.both });
  return t("shift_headline", { both: pop.both, changed: pop.changed, percent: pop.changed_percent });
}

// Each cell's width at its two ends. A shown cell is its people. The room's hidden cells share
// out evenly only what the shown figures already say they hold together: a row's or column's
// total less its shown cells where the net shift is shown, else everyone less every shown cell.
function widths(pop, pre, final) {
  const cells = pop.cells.map((cell) => ({ ...cell, left: cell.people ?? 0, right: cell.people ?? 0 }));
  const hidden = cells.filter((cell) => cell.people == null);
  if (hidden.length === 0) return cells;
  if (pop.net) {
    const net = new Map(pop.net.map((entry) => [entry.option, entry]));
    const share = (side, option, total) => {
      const here = cells.filter((cell) => cell[side === "left" ? "pre" : "final"] === option);
      const unseen = here.filter((cell) => cell.people == null);
      const rest = total - here.reduce((sum, cell) => sum + (cell.people ?? 0), 0);
      for (const cell of unseen) cell[side] = rest / unseen.length;
    };
    for (const option of pre) share("left", option, net.get(option)?.pre ?? 0);
    for (const option of final) share("right", option, net.get(option)?.final ?? 0);
  } else {
    const shown = cells.reduce((sum, cell) => sum + (cell.people ?? 0), 0);
    for (const cell of hidden) cell.left = cell.right = (pop.both - shown) / hidden.length;
  }
  return cells;
}

// Where each option sits on a side: sizes scaled alike on both sides, each given at least SLOT.
function place(sizes, scale) {
  let y = 0;
  return sizes.map((size) => {
    const drawn = size * scale;
    const slot = Math.max(drawn, SLOT);
    const at = { top: y + (slot - drawn) / 2, height: drawn, middle: y + slot / 2 };
    y += slot + GAP;
    return at;
  });
}

function fits(sizes, scale) {
  return sizes.reduce((sum, size) => sum + Math.max(size * scale, SLOT), 0) + GAP * (sizes.length - 1) <= HEIGHT;
}

function scaleFor(...sides) {
  const most = Math.max(1, ...sides.map((sizes) => sizes.reduce((a, b) => a + b, 0)));
  let low = 0;
  let high = HEIGHT / most;
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2;
    if (sides.every((sizes) => fits(sizes, mid))) low = mid;
    else high = mid;
  }
  return low;
}

// A flow diagram of one population. `labels`: the options' labels beside it (else bands only,
// as in the small by-group drawings, whose colours the large one names).
export function flowDiagram(figures, pop, { labels = true } = {}) {
  const pre = figures.pre_options.map((o) => o.id);
  const final = figures.final_options.map((o) => o.id);
  const colour = new Map([...pre, ...final.filter((id) => !pre.includes(id))].map((id, n) => [id, PALETTE[n % PALETTE.length]]));
  const cells = widths(pop, pre, final);
  const leftSizes = pre.map((id) => cells.filter((c) => c.pre === id).reduce((sum, c) => sum + c.left, 0));
  const rightSizes = final.map((id) => cells.filter((c) => c.final === id).reduce((sum, c) => sum + c.right, 0));
  const scale = scaleFor(leftSizes, rightSizes);
  const left = place(leftSizes, scale);
  const right = place(rightSizes, scale);
  const hatch = `shift-hatch-${++drawings}`;
  const drawing = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", class: "shift-svg", "aria-hidden": "true" });
  const pattern = svg("pattern", { id: hatch, patternUnits: "userSpaceOnUse", width: 16, height: 16, patternTransform: "rotate(45)" });
  pattern.append(svg("rect", { width: 16, height: 16, class: "shift-hatch-ground" }), svg("rect", { width: 6, height: 16, class: "shift-hatch-line" }));
  drawing.append(svg("defs"));
  drawing.firstChild.append(pattern);
  const counts = el("div", { class: "shift-band-counts" });
  const nodeWidth = 26;
  const leftFilled = left.map((at) => at.top);
  const rightFilled = right.map((at) => at.top);
  // Outgoing bands in the final vote's order, incoming in the pre-vote's: none cross at a node.
  const ordered = [...cells].sort((a, b) => pre.indexOf(a.pre) - pre.indexOf(b.pre) || final.indexOf(a.final) - final.indexOf(b.final));
  const ends = new Map();
  for (const cell of ordered) {
    const i = pre.indexOf(cell.pre);
    const y0 = leftFilled[i];
    leftFilled[i] += cell.left * scale;
    ends.set(cell, { y0, y1: leftFilled[i] });
  }
  for (const cell of [...cells].sort((a, b) => final.indexOf(a.final) - final.indexOf(b.final) || pre.indexOf(a.pre) - pre.indexOf(b.pre))) {
    const j = final.indexOf(cell.final);
    const end = ends.get(cell);
    end.y2 = rightFilled[j];
    rightFilled[j] += cell.right * scale;
    end.y3 = rightFilled[j];
  }
  const x0 = nodeWidth;
  const x1 = WIDTH - nodeWidth;
  const mid = WIDTH / 2;
  // Those who kept their choice underneath, those who changed it on top.
  const layer = (cell) => (cell.people == null ? 1 : cell.pre === cell.final ? 0 : 2);
  for (const cell of [...ordered].sort((a, b) => layer(a) - layer(b))) {
    const { y0, y1, y2, y3 } = ends.get(cell);
    if (y1 - y0 <= 0 && y3 - y2 <= 0) continue;
    const path = `M${x0},${y0} C${mid},${y0} ${mid},${y2} ${x1},${y2} L${x1},${y3} C${mid},${y3} ${mid},${y1} ${x0},${y1} Z`;
    const kind = cell.people == null ? "hidden" : cell.pre === cell.final ? "stayed" : "moved";
    const band = svg("path", { d: path, class: `shift-band ${kind}`, "data-pre": cell.pre, "data-final": cell.final });
    band.style.fill = kind === "hidden" ? `url(#${hatch})` : colour.get(cell.pre);
    if (cell.people != null) band.dataset.people = String(cell.people);
    drawing.append(band);
    if (cell.people && y1 - y0 >= COUNTED) {
      const count = el("span", { class: `shift-band-count ${kind}`, text: String(cell.people) });
      count.style.top = `${((y0 + y1) / 2 / HEIGHT) * 100}%`;
      counts.append(count);
    }
  }
  for (const [side, ids, at, x] of [["pre", pre, left, 0], ["final", final, right, x1]]) {
    ids.forEach((id, n) => {
      const node = svg("rect", { x, y: at[n].top, width: nodeWidth, height: Math.max(at[n].height, 2), class: "shift-node", "data-side": side });
      node.style.fill = colour.get(id);
      drawing.append(node);
    });
  }
  const bands = el("div", { class: "shift-bands" }, drawing, counts);
  if (!labels) return el("div", { class: "shift-flow compact" }, bands);
  const net = new Map((pop.net ?? []).map((entry) => [entry.option, entry]));
  const labelled = (side, options, at) =>
    el(
      "div",
      { class: `shift-labels ${side}` },
      ...options.map((option, n) => {
        const entry = net.get(option.id);
        const count = entry ? entry[side] : null;
        const parts = [];
        if (count != null) parts.push(t("shift_count", { n: count }));
        const netHere = side === "final" || !final.includes(option.id);
        if (entry && netHere) parts.push(`${signed(entry.net)} (${t("shift_points", { points: fixed1(entry.points) })})`);
        const label = el(
          "div",
          { class: "shift-label", "data-option": option.id },
          el("span", { class: "shift-swatch" }),
          el("span", { class: "shift-label-text", text: option.label }),
          el("span", { class: "shift-label-count", text: parts.join(" · ") }),
        );
        label.querySelector(".shift-swatch").style.background = colour.get(option.id);
        if (entry && netHere) label.dataset.net = String(entry.net);
        label.dataset.at = String((at[n].middle / HEIGHT) * 100);
        label.style.top = `${label.dataset.at}%`;
        return label;
      }),
    );
  return el("div", { class: "shift-flow" }, labelled("pre", figures.pre_options, left), bands, labelled("final", figures.final_options, right));
}

// A population's flow is drawn if some of its cells are shown: the room may be given only a
// group's counts, or nothing of a group too small to show.
const drawable = (pop) => !pop.hidden && pop.cells.some((cell) => cell.people != null);

// Which colour is which option, in the colours flowDiagram gives them.
function key(figures) {
  const options = [...figures.pre_options];
  for (const option of figures.final_options) {
    if (!options.some((o) => o.id === option.id)) options.push(option);
  }
  const items = options.map((option, n) => {
    const dot = el("span", { class: "shift-key-dot" });
    dot.style.background = PALETTE[n % PALETTE.length];
    return el("li", {}, dot, el("span", { text: option.label }));
  });
  return el("ul", { class: "shift-key" }, ...items);
}

// The whole comparison: the headline, everyone's flow, and each group side by side.
export function renderShift(container, entry, { title = null, groups = true, labels = {} } = {}) {
  const figures = entry?.figures;
  if (!figures) {
    container.replaceChildren();
    return;
  }
  const everyone = figures.everyone;
  const parts = [];
  if (title) parts.push(el("p", { class: "shift-polls", text: title }));
  parts.push(el("p", { class: "shift-headline", text: headline(everyone) }));
  if (!drawable(everyone)) {
    if (everyone.hidden) parts.push(el("p", { class: "shift-note", text: t("shift_too_few", { n: entry.min_cell }) }));
  } else {
    parts.push(
      el("div", { class: "shift-sides", "aria-hidden": "true" }, el("span", { text: t("shift_before") }), el("span", { text: t("shift_after") })),
      flowDiagram(figures, everyone),
    );
  }
  if (groups && !drawable(everyone) && figures.by_group.some(drawable)) {
    parts.push(key(figures)); // the groups' drawings name no option: say which colour is which
  }
  if (groups && figures.by_group.length) {
    if (figures.groups_hidden) parts.push(el("p", { class: "shift-note", text: t("shift_groups_hidden") }));
    else {
      const panels = figures.by_group.map((pop) =>
        el(
          "section",
          { class: "shift-group", "data-group": pop.group },
          el("h3", { class: "shift-group-name", text: groupName(pop.group, labels) }),
          el("p", { class: "shift-group-headline", text: pop.hidden ? t("shift_too_few", { n: entry.min_cell }) : headline(pop) }),
          drawable(pop) ? flowDiagram(figures, pop, { labels: false }) : el("span"),
        ),
      );
      parts.push(el("div", { class: "shift-groups" }, ...panels));
    }
  }
  const notes = [];
  if (everyone.only_pre || everyone.only_final) notes.push(t("shift_only", { pre: everyone.only_pre, final: everyone.only_final }));
  const populations = [everyone, ...figures.by_group];
  if (populations.some(drawable)) {
    notes.push(t("shift_legend"));
    if (populations.some((pop) => !pop.hidden && (pop.net == null || pop.cells.some((cell) => cell.people == null)))) {
      notes.push(t("shift_hidden_note", { n: entry.min_cell }));
    }
  }
  if (notes.length) parts.push(el("p", { class: "shift-note", text: notes.join(" ") }));
  container.replaceChildren(...parts);
  spreadLabels(container);
  requestAnimationFrame(() => spreadLabels(container)); // once the page around it is laid out too
}

// Each label sits beside its option, unless that would overlap its neighbour (options few chose
// are thin): then they are moved apart just enough, and kept inside the drawing's height. Labels
// that can't all fit that height are made smaller until they do.
function spreadLabels(container) {
  for (const column of container.querySelectorAll(".shift-labels")) {
    const height = column.clientHeight;
    const labels = [...column.children];
    if (!height || labels.length === 0) continue;
    column.style.fontSize = "";
    for (let size = 1; size > 0.55; size -= 0.1) {
      if (labels.reduce((sum, label) => sum + label.offsetHeight, 0) <= height) break;
      column.style.fontSize = `${size - 0.1}em`;
    }
    const spans = labels.map((label) => ({ label, size: label.offsetHeight, want: (parseFloat(label.dataset.at) / 100) * height }));
    let floor = 0;
    for (const span of spans) {
      span.top = Math.max(span.want - span.size / 2, floor);
      floor = span.top + span.size;
    }
    let ceiling = height;
    for (const span of [...spans].reverse()) {
      span.top = Math.max(0, Math.min(span.top, ceiling - span.size));
      ceiling = span.top;
    }
    for (const span of spans) span.label.style.top = `${span.top + span.size / 2}px`;
  }
}
addEventListener("resize", () => spreadLabels(document));

// The title naming the two polls compared, from the agenda.
export function pollsTitle(state, entry) {
  const title = (id) => state.items.find((item) => item.id === id)?.title ?? id;
  return `${title(entry.compare_to)} → ${title(entry.poll)}`;
}

// The comparison the room is shown, if any: the host shows one at a time, the latest wins.
export function shownShift(state) {
  return Object.values(state?.shift ?? {}).find((entry) => entry.visible && entry.figures) ?? null;
}

// The projector: while the host shows a comparison it takes the stage.
export function renderScreenShift(state, box) {
  const entry = shownShift(state);
  document.body.toggleAttribute("data-shift", Boolean(entry));
  box.hidden = !entry;
  if (!entry) return;
  box.querySelector(".shift-title").textContent = t("shift_title");
  renderShift(box.querySelector(".shift-body"), entry, { title: pollsTitle(state, entry), labels: state.group_labels });
}

// A phone: the comparison below whatever item is on, while it is shown.
export function renderPhoneShift(state, box) {
  const entry = shownShift(state);
  box.hidden = !entry;
  if (entry) renderShift(box.querySelector(".shift-body"), entry, { title: pollsTitle(state, entry), labels: state.group_labels });
}

// The host: the comparison of the poll on screen (or of the one it is compared with, or the one
// the room is shown, so it can be hidden from any item), whole, with what the room would see of
// it, and the button that shows it to the room.
export function renderHostShift(state, current, box, send) {
  const entries = Object.values(state.shift ?? {});
  const entry =
    entries.find((e) => e.poll === current?.id) ??
    entries.find((e) => e.compare_to === current?.id) ??
    entries.find((e) => e.visible);
  box.hidden = !entry;
  if (!entry) return;
  const title = pollsTitle(state, entry);
  box.dataset.poll = entry.poll;
  box.querySelector(".shift-status").textContent = entry.visible
    ? t("shift_visible")
    : entry.ready
      ? t("shift_ready")
      : t("shift_waiting");
  const button = box.querySelector(".shift-toggle");
  button.textContent = t(entry.visible ? "shift_hide" : "shift_show");
  button.disabled = !entry.ready && !entry.visible;
  button.onclick = () => send(entry.visible ? "shift_hide" : "shift_show", { poll: entry.poll });
  const labels = state.group_labels;
  renderShift(box.querySelector(".shift-body"), entry, { title, labels });
  const publicView = entry.public;
  const hidden = publicView ? [publicView.everyone, ...publicView.by_group].reduce((n, pop) => n + pop.cells.filter((c) => c.people == null && !pop.hidden).length, 0) : 0;
  const note = box.querySelector(".shift-public");
  note.hidden = !publicView;
  if (publicView) note.textContent = hidden ? t("shift_public_hidden", { n: hidden, k: entry.min_cell }) : t("shift_public_whole");
  const preview = box.querySelector(".shift-preview");
  preview.hidden = !publicView;
  preview.ontoggle = () => spreadLabels(preview);
  renderShift(box.querySelector(".shift-preview-body"), publicView ? { ...entry, figures: publicView } : null, { title, labels });
}
