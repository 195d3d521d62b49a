// One row of the inbox's conversation list, drawn from props by one component instead of a dozen NiceGUI
// elements (each costs server memory and CPU, times 50 rows, times every open page).
// SAFETY: customer text (name, preview) is rendered ONLY with {{ }} text interpolation, never v-html: a customer
// writing <img src=x onerror=alert(1)> sees exactly those characters.
// The state chip and the countdown are NiceGUI child elements in the named slots "state" and "countdown": the
// page's one timer updates the countdown's text alone every second, without resending the row.
export default {
  template: `
    <q-item clickable class="w-full px-3 py-2 cursor-pointer">
      <div class="w-full flex flex-col flex-nowrap">
        <div class="w-full flex flex-nowrap items-center gap-1">
          <div class="font-medium truncate flex-1 min-w-0">{{ contact }}</div>
          <div class="text-xs text-slate-500">{{ time }}</div>
        </div>
        <div class="w-full flex flex-nowrap items-center gap-1">
          <div class="text-sm text-slate-600 truncate flex-1 min-w-0">{{ preview }}</div>
          <q-badge v-if="unread > 0" color="green" rounded>{{ unread }}</q-badge>
        </div>
        <div class="w-full flex items-center gap-1">
          <slot name="state"></slot>
          <span v-show="timer" class="flex flex-nowrap items-center">
            <q-icon name="timer" size="12px" class="text-slate-500"></q-icon>
            <slot name="countdown"></slot>
          </span>
          <span class="text-[10px] text-slate-400">{{ branch }}</span>
          <span class="text-[10px] text-orange-600">{{ waiting }}</span>
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
    waiting: String,
    timer: Boolean,
  },
};
