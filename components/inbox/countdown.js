import { minutesSeconds, secondsLeft } from "lm_clock";

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
      return secondsLeft(this.deadline);
    },
    amberNow() {
      return this.seconds !== null && this.seconds <= this.amber;
    },
    text() {
      return this.seconds > 0 ? (this.template || "").replace("{time}", minutesSeconds(this.seconds)) : this.due;
    },
  },
};
