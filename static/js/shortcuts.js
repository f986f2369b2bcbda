// Keys for a presenter at the host page, and for their clicker, which sends PageDown/PageUp for
// its arrows and "B" or "." for its blank-screen button, as presentation software takes them.
// Nothing fires while the host types in a field or while a question is open.
import { $ } from "./common.js";
import { keepFocusIn, openModal } from "./confirm.js";

// Letters by the key's place, so they work with a Korean input method on (B types "ㅠ" there).
const LETTERS = { KeyB: "blank", KeyR: "reveal" };
const KEYS = {
  PageDown: "next",
  ArrowRight: "next",
  " ": "next",
  PageUp: "prev",
  ArrowLeft: "prev",
  ".": "blank",
  "?": "help",
};
// Space and Enter press a focused button or link: they are left to it.
const PRESSABLE = "button, a[href], summary, [role='button']";

function actionFor(event) {
  if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return null;
  const target = event.target instanceof Element ? event.target : null;
  if (target?.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])")) return null;
  if (document.querySelector("dialog[open]")) return null;
  if (event.key === " " && target?.closest(PRESSABLE)) return null;
  return LETTERS[event.code] ?? KEYS[event.key] ?? null;
}

const help = $("shortcuts");
keepFocusIn(help);
const showHelp = () => help.open || openModal(help, $("shortcuts-close"));
$("shortcuts-close").addEventListener("click", () => help.close());
$("shortcuts-open").addEventListener("click", showHelp);

// `actions` maps next, prev, reveal and blank to what each does; "?" shows the list of keys.
export function setUpShortcuts(actions) {
  document.addEventListener("keydown", (event) => {
    const action = actionFor(event);
    if (!action) return;
    event.preventDefault(); // no page scroll for PageDown and Space, no "?" typed anywhere
    if (action === "help") showHelp();
    else actions[action]();
  });
}
