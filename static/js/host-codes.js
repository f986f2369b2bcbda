// The host's ballot codes: per group, the codes issued, redeemed, on a phone now, used and
// revoked; and revoking one, named by its card's number or its code.
import { $, el, groupLabel, t } from "./common.js";

const COLUMNS = ["issued", "redeemed", "held", "acted", "revoked"];

export function renderCodes(codes, labels = {}) {
  const panel = $("codes-panel");
  panel.hidden = !codes;
  if (!codes) return;
  const head = el(
    "tr",
    {},
    el("th", { scope: "col", text: t("codes_group") }),
    ...COLUMNS.map((c) => el("th", { scope: "col", text: t(`codes_${c}`) })),
  );
  const rows = Object.entries(codes.groups).map(([group, counts]) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", text: groupLabel(labels, group) ? `${labels[group]} (${group})` : group }),
      ...COLUMNS.map((c) => el("td", { text: String(counts[c]) })),
    ),
  );
  $("codes-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

// `send` is the host page's: it says plainly when a command was refused.
export function setUpRevoke(send) {
  $("code-revoke-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const card = $("code-revoke-card").value.trim();
    if (!card || !confirm(t("code_revoke_confirm", { card }))) return;
    const reply = await send("code_revoke", { card });
    if (reply) {
      $("code-revoke-card").value = "";
      $("code-revoke-state").textContent = t("code_revoked_done", { card });
    }
  });
}

// One guesser behind a hall's shared address spends the tries of every phone behind it: the host
// gives them back.
export function setUpTriesReset(send) {
  $("code-tries-reset").addEventListener("click", async () => {
    if (await send("code_tries_reset", {})) $("code-revoke-state").textContent = t("code_tries_back");
  });
}
