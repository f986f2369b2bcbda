// What a screen reader hears of the phone's timer: not the visible clock, which changes every
// quarter second, but a quiet line at each whole minute left and when the time is up.
import { t } from "./common.js";

// The whole minutes left, rounded up as the clock shows them: 4 from 4:00 down to 3:01.
function minutesLeft(ms) {
  return ms <= 0 ? 0 : Math.ceil(ms / 60000);
}

function sayMinutes(minutes) {
  if (minutes === 0) return t("timer_done");
  return minutes === 1 ? t("timer_one_minute") : t("timer_minutes", { n: minutes });
}

// Speaks into `region` (a visually hidden live region) only when a running timer crosses a
// minute mark; a new item, a reset or a pause changes the mark silently.
export function timerAnnouncer(region) {
  let last = null; // {item, minutes} as last seen
  return (item, timer, remainingMs) => {
    const minutes = minutesLeft(remainingMs);
    const shown = timer && timer.duration_ms > 0;
    const crossed = last && last.item === item && minutes < last.minutes;
    let say = region.textContent;
    if (shown && timer.running && crossed) say = sayMinutes(minutes);
    else if (!shown || last?.item !== item) say = "";
    if (say !== region.textContent) region.textContent = say;
    last = shown ? { item, minutes } : null;
  };
}
