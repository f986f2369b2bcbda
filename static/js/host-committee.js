// On the host's screen: how far the selection committee has got, in questions scored (per
// member and per candidate, never which scores), and each member's own link with its QR code
// and a copy button, named by the member's display name from the programme.
import { $, el, t } from "./common.js";
import { copyField } from "./moderator-link.js";

export function renderCommitteeProgress(selection, candidates) {
  const names = selection.members ?? {};
  const byMember = Object.entries(selection.progress ?? {}).map(([member, n]) =>
    el("li", {
      "data-member": member,
      text: t("progress", { member: names[member] ?? member, n, total: selection.scores_expected }),
    }),
  );
  $("selection-progress").replaceChildren(...byMember);
  const titles = new Map(candidates.map((c) => [c.id, c.label ?? c.title ?? c.id]));
  const byCandidate = Object.entries(selection.progress_by_candidate ?? {}).map(([candidate, n]) =>
    el("li", {
      "data-candidate": candidate,
      text: t("candidate_progress", {
        candidate: titles.get(candidate) ?? candidate,
        n,
        total: selection.scores_expected_by_candidate,
      }),
    }),
  );
  $("candidate-progress").replaceChildren(...byCandidate);
}

// `links`: the host snapshot's `committee_links`, [{member, name, url, qr}]; drawn once each.
export function showCommitteeLinks(links) {
  $("committee-links-note").textContent = t("committee_links");
  const items = links.map(({ member, name, url, qr }) => {
    const field = el("input", { readonly: true, value: url, "aria-label": t("member_link", { name }) });
    const status = el("span", { class: "note", role: "status" });
    const copy = el("button", { type: "button", text: t("copy"), "aria-label": t("copy_member_link", { name }) });
    copy.addEventListener("click", () => copyField(field, status));
    field.addEventListener("focus", () => field.select());
    return el(
      "li",
      { class: "member-link", "data-member": member },
      el("span", { class: "link-member", text: name }),
      el("img", { src: qr, alt: t("member_qr", { name }), width: "160", height: "160" }),
      field,
      el("p", { class: "copy-row" }, copy, status),
    );
  });
  $("committee-links").replaceChildren(...items);
}
