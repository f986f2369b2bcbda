// The phone's ballot for a scale (a row of big buttons, one a point, the ends' words under it)
// and for a ranking (tap the options in your order; tap one again to take it out; the last one
// left takes the last place by itself). Single and multiple choice are phone.js's own.
import { el, t } from "./common.js";

export const isScale = (item) => item?.choice === "scale";
export const isRanking = (item) => item?.choice === "ranking";

// The scale's points as radio buttons, so the phone's ballot reads and sends them as it does
// a single choice.
export function scaleBallot(item, chosen) {
  const points = item.options.map((option) => {
    const input = el("input", { type: "radio", name: "choice", value: option.id, id: `opt-${option.id}` });
    input.checked = chosen.includes(option.id);
    return el(
      "label",
      { class: chosen.includes(option.id) ? "option scale-point mine" : "option scale-point", for: `opt-${option.id}` },
      input,
      el("span", { text: option.label }),
    );
  });
  const nodes = [el("div", { class: "scale-row" }, ...points)];
  const ends = item.scale_labels ?? [];
  if (ends.length === 2) {
    const first = item.options[0].label;
    const last = item.options.at(-1).label;
    nodes.push(
      el(
        "p",
        { class: "scale-ends" },
        el("span", { text: `${first}: ${ends[0]}` }),
        el("span", { text: `${last}: ${ends[1]}` }),
      ),
    );
  }
  return nodes;
}

// A ranking being made: `order` holds the option ids placed so far. `changed` is called after
// every tap, so the page can enable its vote button once the order is complete.
export class RankingBallot {
  constructor(item, chosen, changed) {
    this.item = item;
    this.changed = changed;
    this.order = chosen.length === item.options.length ? [...chosen] : [];
    this.buttons = new Map();
    const buttons = item.options.map((option) => {
      // The place is part of the button's name ("2 Alpha", pressed): what is seen is what is read.
      const place = el("span", { class: "rank-place" });
      const button = el(
        "button",
        { type: "button", class: "option rank-option", "data-option": option.id },
        place,
        el("span", { class: "rank-label", text: option.label }),
      );
      button.place = place;
      button.addEventListener("click", () => this.tap(option.id));
      this.buttons.set(option.id, button);
      return button;
    });
    this.list = el("ol", { class: "rank-order", "aria-label": t("ranking_your_order") });
    this.clear = el("button", { type: "button", class: "rank-clear", text: t("ranking_clear") });
    this.clear.addEventListener("click", () => {
      this.order = [];
      this.update();
      // The button hides itself with the order gone: the focus goes back to the first option,
      // not to the page's start.
      buttons[0].focus();
    });
    this.nodes = [
      el("div", { class: "rank-options" }, ...buttons),
      el("p", { class: "rank-order-title", text: t("ranking_your_order") }),
      this.list,
      this.clear,
    ];
    this.update(false);
  }

  tap(id) {
    const at = this.order.indexOf(id);
    if (at >= 0) this.order.splice(at, 1);
    else this.order.push(id);
    // The last option left has only one place to go.
    const left = this.item.options.filter((o) => !this.order.includes(o.id));
    if (at < 0 && left.length === 1) this.order.push(left[0].id);
    this.update();
  }

  // The whole order, or null while options are still to place.
  choices() {
    return this.complete() ? [...this.order] : null;
  }

  complete() {
    return this.order.length === this.item.options.length;
  }

  setDisabled(disabled) {
    for (const button of this.buttons.values()) button.disabled = disabled;
    this.clear.disabled = disabled;
  }

  update(notify = true) {
    const labels = new Map(this.item.options.map((o) => [o.id, o.label]));
    for (const [id, button] of this.buttons) {
      const at = this.order.indexOf(id);
      button.place.textContent = at >= 0 ? String(at + 1) : "";
      button.setAttribute("aria-pressed", String(at >= 0));
    }
    this.list.replaceChildren(...this.order.map((id) => el("li", { text: labels.get(id) })));
    this.clear.hidden = this.order.length === 0;
    if (notify) this.changed();
  }
}
