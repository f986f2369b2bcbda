// The join link and its QR code on the host page, with a button that copies the link: for a
// chat message or a slide, without reading it off the projector.
import { $, t } from "./common.js";

export function showJoinLink(url) {
  $("join-url").value = url;
}

// The clipboard API needs a secure page, which a forum on a LAN address (plain http) is not:
// there the field's text is selected and copied the older way.
async function copy() {
  const field = $("join-url");
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    field.focus();
    field.select();
    copied = document.execCommand("copy");
  }
  $("join-copied").textContent = t(copied ? "join_copied" : "join_copy_failed");
}

$("join-copy").addEventListener("click", copy);
$("join-url").addEventListener("focus", (event) => event.target.select());
