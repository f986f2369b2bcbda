// On the host's screen: the moderator's secret link, to hand to whoever keeps the boards, with a
// button that copies it. `copyField` serves every link on the host's screen that has one.
import { $, t } from "./common.js";

// `path` is the snapshot's `moderator_link` (the key in its #fragment), or nothing.
export function showModeratorLink(path) {
  $("moderator-box").hidden = !path;
  if (path) $("moderator-link").value = new URL(path, location.origin).href;
}

// The clipboard API needs a secure page, which a forum on a LAN address is not: there the
// selected field is copied the old way. `status` says whether it worked.
export async function copyField(field, status) {
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    field.select();
    copied = document.execCommand("copy");
  }
  status.textContent = t(copied ? "link_copied" : "link_copy_failed");
}
$("moderator-copy").addEventListener("click", () => copyField($("moderator-link"), $("moderator-copied")));
