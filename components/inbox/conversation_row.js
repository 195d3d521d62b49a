import { clock, minutesSeconds, secondsLeft } from "lm_clock"; // one clock a second for the whole page

// One row of the inbox's conversation list, drawn from props by one component instead of a dozen NiceGUI
// elements (each costs server memory and CPU, times 50 rows, times every open page).
//
// SPEED: NiceGUI renders a whole page from one root render function, so an ordinary element update re-renders
// every element of the page (and every Quasar child, whose handlers are rebuilt each time): ~25 ms of script per
// row change per page, times every open page. So a change to a row already on screen arrives through `set()`
// (a method call that never touches NiceGUI's element table) and re-renders this row alone. `version` says whether
// the props (a full render: page load, reconnect) or what `set()` delivered is newer. The row's place in the list
// is CSS `order` (the list is a flex column): moving a row to the top changes this row, not the list's children.
// The countdown and the waiting time are computed here, from timestamps, once a second: no server traffic.
//
// SAFETY: customer text (name, preview) is rendered ONLY with {{ }} text interpolation, never v-html: a customer
// writing <img src=x onerror=alert(1)> sees exactly those characters.

// What the server calls for a live change: one plain call (NiceGUI's run_method evaluates `return …`, a syntax
// error at the top level, then again wrapped in a function: two compilations and an exception per change).
window.lmRowSet = (id, values) => getElement(id)?.set(values);

const FIELDS = ["contact", "time", "preview", "unread", "branch", "state", "colour", "deadline", "waiting_since",
  "waiting_text", "window_closes", "expired_text", "labels", "selected", "rank", "hidden", "version"];

export default {
  // The row never gets wider than its column: the name and the preview are cut with an ellipsis (flex-1 min-w-0
  // truncate), the time and the unread badge keep their place on the right (flex-none), and the chips line wraps.
  template: `
    <q-item v-show="!v.hidden" clickable class="w-full min-w-0 max-w-full px-3 py-2 cursor-pointer border-b border-slate-100"
            :class="v.selected ? 'bg-slate-200' : ''"
            :style="{ order: v.rank }">
      <div class="w-full min-w-0 flex flex-col flex-nowrap gap-0.5">
        <div class="w-full min-w-0 flex flex-nowrap items-center gap-2">
          <div class="font-medium truncate flex-1 min-w-0">{{ v.contact }}</div>
          <div class="text-xs text-slate-500 flex-none" data-row="time">{{ v.time }}</div>
        </div>
        <div class="w-full min-w-0 flex flex-nowrap items-center gap-2">
          <div class="text-sm text-slate-600 truncate flex-1 min-w-0" data-row="preview">{{ v.preview }}</div>
          <q-badge v-if="v.unread > 0" color="green" rounded class="flex-none" data-row="unread">{{ v.unread }}</q-badge>
        </div>
        <div class="w-full min-w-0 flex flex-wrap items-center gap-1">
          <q-badge outline class="text-[10px]" :color="v.colour">{{ v.state }}</q-badge>
          <q-badge v-if="expired" outline color="red-8" class="text-[10px]" data-row="expired">{{ v.expired_text }}</q-badge>
          <span v-if="countdown !== null" class="flex flex-nowrap items-center">
            <q-icon name="timer" size="12px" class="text-slate-500"></q-icon>
            <span :class="countdown <= amber ? 'text-[10px] text-amber-600 font-semibold' : 'text-[10px] text-slate-500'">
              {{ minutesSeconds(countdown) }}
            </span>
          </span>
          <span class="text-[10px] text-slate-400">{{ v.branch }}</span>
          <span class="text-[10px] text-orange-600">{{ waiting }}</span>
          <q-badge v-for="label in v.labels || []" :key="label" color="blue-grey-1" text-color="blue-grey-9"
                   class="text-[10px] max-w-full truncate" data-row="label">{{ label }}</q-badge>
        </div>
      </div>
    </q-item>
  `,
  props: {
    contact: String,
    time: String,
    preview: String,
    unread: Number,
    branch: String,
    state: String,
    colour: String,
    deadline: Number, // epoch seconds of the takeover deadline (T2), or null
    waiting_since: Number, // epoch seconds since a customer waits for a person, or null
    waiting_text: String, // "espera {minutes} min"
    window_closes: Number, // epoch seconds when the 24 h window closes (null: no customer message, closed)
    expired_text: String, // "Ventana de 24 h vencida"; empty when the row must not show it (a closed conversation)
    labels: Array, // the conversation's labels (agents' words, shown as text)
    selected: Boolean,
    rank: Number,
    hidden: Boolean, // a spare row in the list's pool, waiting for a new conversation
    version: Number,
    amber: Number, // the countdown turns amber in its last this many seconds (AMBER_SECONDS)
  },
  data() {
    return { live: null };
  },
  computed: {
    v() {
      if (this.live && this.live.version > this.version) return this.live;
      const values = {};
      for (const name of FIELDS) values[name] = this[name];
      return values;
    },
    countdown() {
      return secondsLeft(this.v.deadline);
    },
    expired() {
      // C3: the 24 h window closing is a state of its own; it turns without any event, so the clock decides.
      if (!this.v.expired_text) return false;
      return this.v.window_closes == null || clock.now >= this.v.window_closes;
    },
    waiting() {
      if (this.v.waiting_since == null) return "";
      const minutes = Math.max(0, Math.floor((clock.now - this.v.waiting_since) / 60));
      return (this.v.waiting_text || "").replace("{minutes}", minutes);
    },
  },
  methods: {
    minutesSeconds, // for the template
    set(values) {
      this.live = { ...this.v, ...values };
    },
  },
};
