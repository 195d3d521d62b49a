import { clock } from "lm_clock";

// The holder's countdown (T2) in the chat header and the client panel, counted down here, in the browser, from
// the deadline: a server update every second would re-render the whole page every second (NiceGUI renders a page
// from one root render function) in every page that has a held conversation open.
// The clock is shared with the list rows (lm_clock.js).

export default {
  template: `
    <q-badge v-if="badge && seconds !== null" outline :color="amberNow ? 'amber-8' : 'blue'">{{ text }}</q-badge>
    <span v-else-if="seconds !== null" :class="amberNow ? 'text-amber-600' : 'text-blue-700'">{{ text }}</span>
  `,
  props: {
    deadline: Number, // epoch seconds, or null (nothing is shown)
    template: String, // "Se libera en {time}"
    due: String, // what shows at zero
    amber: Number, // the last this many seconds are amber
    badge: Boolean, // a badge (chat header) or text (panel)
  },
  computed: {
    seconds() {
      return this.deadline == null ? null : Math.max(0, Math.floor(this.deadline - clock.now));
    },
    amberNow() {
      return this.seconds !== null && this.seconds <= this.amber;
    },
    text() {
      if (this.seconds > 0) {
        const time = `${Math.floor(this.seconds / 60)}:${String(this.seconds % 60).padStart(2, "0")}`;
        return (this.template || "").replace("{time}", time);
      }
      return this.due;
    },
  },
};
