// ChatView's reading: scrolling that never makes the text jump, the
// "Seen" mark under our newest message the peer read, and our own read
// marks (sent only for what is really on screen).

const NEAR_BOTTOM_PX = 80; // "user is reading the newest messages"
const NEAR_TOP_PX = 40; // scrolled to the top: fetch older messages
const READ_DEBOUNCE_MS = 300; // one read frame per burst of scrolling

export const scroll = {
  isNearBottom() {
    const list = this.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
  },

  isNearTop() {
    return this.list.scrollTop < NEAR_TOP_PX;
  },

  scrollToBottom() {
    this.list.scrollTop = this.list.scrollHeight;
    this.pinnedToBottom = true;
  },

  firstVisibleBubble() {
    const top = this.list.getBoundingClientRect().top;
    for (const bubble of this.list.querySelectorAll('.msg')) {
      if (bubble.getBoundingClientRect().bottom > top) return bubble;
    }
    return null;
  },

  /**
   * Runs `mutate` (which adds or removes bubbles) without making the view
   * jump: a reader at the bottom stays at the bottom (new messages scroll
   * in); anyone else keeps the bubble they were looking at in place, so
   * prepending older history does not move the text under their eyes.
   * The "Seen" mark moves with the bubbles, inside the same measurement.
   */
  withStableScroll(mutate) {
    const stick = this.isNearBottom();
    const anchor = stick ? null : this.firstVisibleBubble();
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    mutate();
    this.renderSeen();
    if (stick) {
      this.scrollToBottom();
    } else if (anchor && anchor.isConnected) {
      this.list.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    }
  },

  onListScroll() {
    this.pinnedToBottom = this.isNearBottom();
    if (this.isNearTop()) this.fetchOlder(true);
    if (this.pinnedToBottom) this.clearUnread();
    this.scheduleRead();
  },

  /** One mark, under the newest own message the peer has seen. */
  renderSeen() {
    const target = this.seqEls.get(this.model.seenSeq());
    if (!target) this.seenEl.remove();
    else if (target.nextSibling !== this.seenEl) target.after(this.seenEl);
  },

  onPeerRead(seq) {
    if (this.model.peerRead(seq)) this.withStableScroll(() => {});
  },

  /**
   * Sends our read mark READ_DEBOUNCE_MS after the first of a burst of
   * changes or scroll events (one frame per burst, and never postponed
   * for as long as the reader keeps scrolling).
   */
  scheduleRead() {
    if (this.readTimer) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      this.sendRead();
    }, READ_DEBOUNCE_MS);
  },

  sendRead() {
    if (!this.ready || document.visibilityState !== 'visible' || !this.canRead()) return;
    const seq = this.lastShownSeq();
    if (this.model.readIsNew(seq) && this.socket.send({ type: 'read', seq })) {
      this.model.readSent = seq;
      if (this.onReadTap) this.onReadTap(seq);
    }
  },

  /** The newest message whose top is above the bottom of the visible list. */
  lastShownSeq() {
    // A list with no height is not on screen (the console's narrow layout
    // hides the conversation pane behind the list).
    if (!this.list.clientHeight) return 0;
    const bottom = this.list.getBoundingClientRect().bottom;
    const seqs = this.model.seqs;
    for (let i = seqs.length - 1; i >= 0; i--) {
      if (this.seqEls.get(seqs[i]).getBoundingClientRect().top < bottom) return seqs[i];
    }
    return 0;
  },
};
