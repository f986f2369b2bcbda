// Ballot codes on the phone: the code from a card's QR link, the form to type one, and the
// check character, tested here so a typo is caught before anything is sent.
import { $, errorText, groupLabel, t } from "./common.js";

// As townhall/codes/format.py: no 0, O, 1 or I; 8 random symbols and a Luhn mod 32 check.
const ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const LENGTH = 9;

// As townhall/codes/format.py: full-width letters read as plain ones, separators as nothing.
export function compact(typed) {
  return typed.normalize("NFKC").toUpperCase().replace(/[\s\-\u00ad\u2010-\u2014\u2212]/g, "");
}

// The Luhn mod N check over the whole code, its check character included: 0 when it is right.
export function checks(code) {
  const n = ALPHABET.length;
  let sum = 0;
  for (let i = 0; i < code.length; i++) {
    const value = ALPHABET.indexOf(code[code.length - 1 - i]);
    if (value < 0) return false;
    if (i % 2 === 1) sum += Math.floor((value * 2) / n) + ((value * 2) % n);
    else sum += value;
  }
  return sum % n === 0;
}

// What is wrong with a typed code before it is sent, as an error code, or null.
export function problem(typed) {
  const code = compact(typed);
  if (code.length !== LENGTH || [...code].some((ch) => !ALPHABET.includes(ch))) {
    return "code_malformed";
  }
  return checks(code) ? null : "code_typo";
}

// The code a card's QR link carries in its fragment (#ballot=...), taken off the address at
// once so it is not in the tab's back list or shared with the page's link. (The browser's own
// history of visited pages keeps the address as opened: nothing a page does reaches that.)
export function codeFromLink() {
  const match = /(?:^#|&)ballot=([^&]+)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return decodeURIComponent(match[1]);
}

// "jury-17" as the phone says it: the group (by its name on screen) and the card's number.
export function voterText(voter, labels = {}) {
  const cut = voter.lastIndexOf("-");
  const group = voter.slice(0, cut);
  return t("code_held", { group: groupLabel(labels, group) ?? group, n: voter.slice(cut + 1) });
}

// Draws the code box for where the phone stands: whether a code is needed, and why.
export function renderCodeBox(eligibility, item, labels = {}) {
  const box = $("code-box");
  const held = $("code-held");
  const voters = item?.kind === "poll" ? (item.voters ?? []) : [];
  const forumNeeds = eligibility?.mode === "codes" && !eligibility.voter;
  const pollNeeds = voters.length > 0 && !voters.includes(eligibility?.group);
  box.hidden = !(forumNeeds || pollNeeds);
  if (!box.hidden) {
    $("code-why").textContent = forumNeeds
      ? t("code_needed")
      : t("code_for_poll", { groups: voters.map((g) => groupLabel(labels, g) ?? g).join(", ") });
  }
  held.hidden = !eligibility?.voter;
  if (eligibility?.voter) held.textContent = voterText(eligibility.voter, labels);
  return { forumNeeds, pollNeeds };
}

// Sends a code to redeem; `done` gets the ack. A typo is refused here, never sent.
export async function redeem(socket, typed, done) {
  const state = $("code-state");
  const wrong = problem(typed);
  if (wrong) {
    state.textContent = errorText({ code: wrong });
    state.classList.add("error");
    return;
  }
  state.classList.remove("error");
  state.textContent = t("sending");
  let reply;
  try {
    reply = await socket.timeout(8000).emitWithAck("redeem", { code: compact(typed) });
  } catch {
    state.textContent = t("reconnecting");
    return;
  }
  if (reply.ok) {
    state.textContent = "";
    $("code-input").value = "";
  } else {
    const spent = reply.error.code === "rate_limited"; // wrong codes from this network, or here
    state.textContent = spent ? t("code_tries_spent") : errorText(reply.error);
    state.classList.add("error");
  }
  done(reply);
}
