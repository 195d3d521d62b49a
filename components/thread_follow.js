// Keeps a chat's scroll area at its newest message, as WhatsApp does: it follows whatever makes the thread
// taller (a new message, a photo that finished loading, a VIN reading under it) while the reader is at the
// bottom, and leaves the reader alone once they scroll up to read older messages.
export default {
  template: '<div aria-hidden="true" style="height: 1px"></div>',
  props: { threshold: { type: Number, default: 80 } },
  mounted() {
    this.box = this.$el.closest('.q-scrollarea__container') || this.$el.parentElement;
    this.content = this.box.firstElementChild || this.$el.parentElement;
    this.atBottom = true;
    this.onScroll = () => {
      this.atBottom = this.box.scrollHeight - this.box.scrollTop - this.box.clientHeight <= this.threshold;
    };
    this.box.addEventListener('scroll', this.onScroll, { passive: true });
    this.observer = new ResizeObserver(() => {
      if (this.atBottom) this.stick();
    });
    this.observer.observe(this.content);
    this.observer.observe(this.box);
    this.stick();
  },
  unmounted() {
    if (this.observer) this.observer.disconnect();
    if (this.box) this.box.removeEventListener('scroll', this.onScroll);
  },
  methods: {
    stick() {
      this.box.scrollTop = this.box.scrollHeight;
    },
    // The reader asked for the newest message (opened a conversation, sent one): follow from here on.
    toBottom() {
      this.atBottom = true;
      this.stick();
      requestAnimationFrame(() => this.stick());
    },
  },
};
