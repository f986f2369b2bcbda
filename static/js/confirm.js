// Modal questions on the host page, in the page itself (never window.confirm, which blocks the
// page's socket and can't be styled or translated): focus stays inside while one is open, Esc
// cancels, Enter confirms, and focus goes back where it was when it closes.
import { $ } from "./common.js";

// Tab and Shift+Tab go round the dialog's own buttons, never out to the page behind it.
export function keepFocusIn(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const stops = [...dialog.querySelectorAll("button:not([disabled]), a[href], input, select, textarea")];
    if (stops.length === 0) return;
    const first = stops[0];
    const last = stops.at(-1);
    const inside = stops.includes(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      last.focus();
      event.preventDefault();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      first.focus();
      event.preventDefault();
    }
  });
}

// Opens `dialog` modally with `focus` focused; resolves to its return value once it closes (""
// when Esc closed it).
export function openModal(dialog, focus) {
  const before = document.activeElement;
  dialog.returnValue = "";
  dialog.showModal();
  focus.focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (before instanceof HTMLElement && before.isConnected && !before.disabled) before.focus();
        resolve(dialog.returnValue);
      },
      { once: true },
    );
  });
}

const dialog = $("confirm");
keepFocusIn(dialog);
$("confirm-ok").addEventListener("click", () => dialog.close("confirm"));
$("confirm-cancel").addEventListener("click", () => dialog.close("cancel"));
dialog.addEventListener("keydown", (event) => {
  // Enter on the dialog itself (its text was clicked) confirms; on a button it presses that one.
  if (event.key === "Enter" && !(event.target instanceof HTMLButtonElement)) {
    event.preventDefault();
    dialog.close("confirm");
  }
});

// Asks `question` (with `detail` under it) and resolves to whether the host confirmed, with the
// button that says what will happen (`action`). While one question is open, another is not asked.
export async function confirmAction(question, { detail = "", action }) {
  if (dialog.open) return false;
  $("confirm-question").textContent = question;
  $("confirm-detail").textContent = detail;
  $("confirm-detail").hidden = !detail;
  $("confirm-ok").textContent = action;
  return (await openModal(dialog, $("confirm-ok"))) === "confirm";
}
