// ChatView's older history: history_before requests, one at a time, that
// fill holes left by a reconnect and extend the top of the list, and the
// line above the messages that tells how that goes.
import { I18N } from './i18n.mjs';
import { nextOlderRequest, olderState, olderTextKey } from './chat-state.mjs';

const OLDER_RETRY_MS = 3000; // after an error answered our request

export const older = {
  /**
   * Asks for older messages, one request at a time. Holes in the middle
   * (possible after a reconnect, since history is capped at 200) are filled
   * first; the top of the list is extended only when `wantTop` (the user
   * scrolled up, or the first history said there is more).
   */
  fetchOlder(wantTop) {
    if (!this.ready || this.olderInFlight) return;
    const req = nextOlderRequest(this.model, wantTop);
    if (!req) return;
    if (req.exhausted) {
      this.model.olderExhausted = true;
    } else if (this.socket.send({ type: 'history_before', before: req.before, limit: req.limit })) {
      this.olderInFlight = { kind: req.kind, before: req.before };
    }
    this.renderOlder();
  },

  /**
   * history_before is our one request answered by a frame: an error
   * without an id is likely about it, so try again later.
   */
  olderFailed() {
    this.olderInFlight = null;
    clearTimeout(this.olderRetryTimer);
    this.olderRetryTimer = setTimeout(() => this.fetchOlder(this.isNearTop()), OLDER_RETRY_MS);
    this.renderOlder();
  },

  onOlderPage(msgs, hasMore) {
    const req = this.olderInFlight;
    this.olderInFlight = null;
    const before = this.model.seqs.length;
    this.withStableScroll(() => msgs.forEach((m) => this.acceptMessage(m, true)));
    this.model.olderPageDone(req.kind, this.model.seqs.length - before, hasMore);
    this.renderOlder();
    // Keep going while a hole remains or the list cannot scroll yet (no
    // scroll-to-top event would ever come).
    this.fetchOlder(this.list.scrollHeight <= this.list.clientHeight);
  },

  renderOlder() {
    const state = olderState({
      inFlight: Boolean(this.olderInFlight),
      stored: this.model.seqs.length > 0,
      ready: this.ready,
      shown: Boolean(this.list.querySelector('.msg')),
      exhausted: this.model.olderExhausted,
    });
    this.olderBox.dataset.state = state;
    this.olderButton.hidden = state !== 'more';
    this.olderButton.disabled = !this.ready;
    const key = olderTextKey(state);
    this.olderText.textContent = key ? I18N.t(key) : '';
    this.olderText.hidden = !key;
  },
};
