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
    // Only the reader leaves the bottom. The browser also moves the scroll position (scroll anchoring while a photo
    // above decodes, a late layout): taken for the reader's, that once left a long thread with a photo at its top.
    this.readerAt = -Infinity;
    this.onIntent = () => {
      this.readerAt = performance.now();
    };
    this.area = this.box.closest('.q-scrollarea') || this.box;  // its custom scrollbar is outside the box
    for (const type of ['wheel', 'touchmove', 'pointerdown', 'keydown']) {
      this.area.addEventListener(type, this.onIntent, { passive: true });
    }
    document.addEventListener('keydown', this.onIntent, { passive: true });  // PageUp, Home with focus elsewhere
    this.onScroll = () => {
      const distance = this.box.scrollHeight - this.box.scrollTop - this.box.clientHeight;
      if (distance <= this.threshold) {
        this.atBottom = true;
      } else if (performance.now() - this.readerAt < 1500) {
        this.atBottom = false;
      } else if (this.atBottom) {
        this.stick();
      }
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
    if (this.area) {
      for (const type of ['wheel', 'touchmove', 'pointerdown', 'keydown']) {
        this.area.removeEventListener(type, this.onIntent);
      }
    }
    document.removeEventListener('keydown', this.onIntent);
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
