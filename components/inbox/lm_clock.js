// One clock for the page, a tick a second, shared by every list row (conversation_row.js) and the countdowns of
// the open conversation (countdown.js): one timer in the browser instead of one per element. The server's offset
// (window.lmServerOffset, set by the inbox page) keeps a wrong PC clock from skewing countdowns.
// An ES module: evaluated once per page, however many components import it.
import { reactive } from "vue";

const now = () => Date.now() / 1000 + (window.lmServerOffset || 0);

export const clock = reactive({ now: now() });
setInterval(() => {
  clock.now = now();
}, 1000);

// Whole seconds until `deadline` (epoch seconds), never below zero; null without a deadline.
export const secondsLeft = (deadline) => (deadline == null ? null : Math.max(0, Math.floor(deadline - clock.now)));

// 4:05 for 245 s, as the server's `formatting.clock` writes it.
export const minutesSeconds = (seconds) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
