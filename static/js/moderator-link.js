// On the host's screen: the moderator's secret link, to hand to whoever keeps the boards, with a
// button that copies it.
import { $, t } from "./common.js";

// `path` is the snapshot's `moderator_link` (the key in its #fragment), or nothing.
export function showModeratorLink(path) {
  $("moderator-box").hidden = !path;
  if (path) $("moderator-link").value = new URL(path, location.origin).href;
}

// The clipboard API needs a secure page, which a forum on a LAN address is not: there the
// selected field is copied the old way.
async function copyLink() {
  const field = $("moderator-link");
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    field.select();
    copied = document.execCommand("copy");
  }
  $("moderator-copied").textContent = t(copied ? "link_copied" : "link_copy_failed");
}
$("moderator-copy").addEventListener("click", copyLink);
