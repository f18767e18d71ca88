// ChatView's socket: the address of the next socket (resuming after what
// is shown), what a lost socket resets, and every frame of PROTOCOL.md a
// conversation socket receives.
import { I18N } from './i18n.mjs';
import { agentOf, typistOf } from './people.mjs';
import { socketUrl } from './dom.js';

const t = (key, vars) => I18N.t(key, vars);

export const frames = {
  /** The address of the next socket: resumes after what is shown. */
  nextUrl() {
    this.socketSince = this.model.since();
    const params = new URLSearchParams(this.params);
    params.set('since', String(this.socketSince));
    return socketUrl('/ws/' + this.role + '/' + encodeURIComponent(this.clientId), params);
  },

  /** What every socket loss resets: nothing is in flight any more. */
  resetSocketState() {
    this.ready = false;
    this.awaitingHistory = false;
    this.olderInFlight = null;
    this.typingActive = false;
    this.typingSentAt = 0;
    clearTimeout(this.resendTimer);
    this.resendTimer = null;
    this.model.outbox.connectionLost();
    this.hidePeerTyping();
  },

  onClose() {
    this.resetSocketState();
    this.model.gapStuck = false;
    this.renderStatus();
    this.renderOlder();
  },

  onHalt(reason) {
    this.renderStatus();
    if (reason === 'logged-out' && this.onLoggedOut) this.onLoggedOut();
  },

  onFrame(f) {
    switch (f.type) {
      case 'welcome': this.onWelcome(f); break;
      case 'history': this.onHistory(f); break;
      case 'message': this.onLiveMessage(f); break;
      case 'presence': this.onPresence(f); break;
      case 'typing': {
        const who = typistOf(f, this.role);
        if (who) this.onPeerTyping(Boolean(f.active), who);
        break;
      }
      case 'read': if (f.role === this.peerRole) this.onPeerRead(f.seq); break;
      case 'status': if (this.model.setStatus(f.status)) this.renderConvStatus(); break;
      case 'assignee': if (this.assignControl) this.assignControl.set(f.assignee); break;
      case 'error': this.onError(f); break;
      case 'contact': this.setContact(f.contact); break;
      default: break; // `replaced` (close 4001 follows), newer server features: ignore
    }
    if (this.onFrameTap) this.onFrameTap(f);
  },

  /** Sends a frame now; false if the socket is not open. */
  send(frame) {
    return this.ready && this.socket.send(frame);
  },

  /** The customer's contact details (`null`: none), shown to agents. */
  setContact(contact) {
    this.contact = contact && typeof contact === 'object' ? contact : null;
    if (this.contactControl) this.contactControl.set(this.contact);
  },

  onWelcome(f) {
    this.me = agentOf(f.me);
    this.setContact(f.contact);
    if (this.assignControl) this.assignControl.set(f.assignee);
    if (this.model.welcome(f).reset) {
      // The server lost history we have shown (e.g. a restored database):
      // what we show may be stale, so start over from scratch.
      this.clearStored();
      this.renderOlder();
      this.showNotice(t('historyReset'));
      this.resetSocketState();
      this.socket.reconnectNow(); // since() is 0 now
      return;
    }
    if (Number.isSafeInteger(f.max_text_chars) && f.max_text_chars > 0) this.maxChars = f.max_text_chars;
    this.updateComposer();
    this.renderPresence();
    this.renderConvStatus();
    this.awaitingHistory = true;
    this.socket.proven();
  },

  onHistory(f) {
    const msgs = Array.isArray(f.messages) ? f.messages : [];
    const hasMore = Boolean(f.has_more);
    if (!this.awaitingHistory) {
      if (this.olderInFlight) this.onOlderPage(msgs, hasMore);
      return;
    }
    this.awaitingHistory = false;
    this.withStableScroll(() => msgs.forEach((m) => this.acceptMessage(m, false)));
    // A load from scratch knows whether anything older exists; a resume
    // (since > 0) keeps what it knew about the top of the list.
    this.model.historyDone(this.socketSince, hasMore);
    this.ready = true;
    this.everConnected = true;
    this.renderStatus();
    this.pump();
    this.renderOlder();
    this.fetchOlder(this.socketSince === 0 && hasMore);
    this.noteTyping(); // a draft typed while offline
    this.scheduleRead();
  },

  onLiveMessage(f) {
    if (f.from === this.peerRole) this.hidePeerTyping(); // the message is what they typed
    this.withStableScroll(() => this.acceptMessage(f, false));
    this.renderOlder();
    this.renderConvStatus(); // the first message makes Resolve possible
    this.renderPeerHint();
    this.pump(); // an acknowledgement lets the next one go
    this.scheduleRead();
  },

  onPresence(f) {
    if (f.role !== this.peerRole) return;
    this.model.peerOnline = Boolean(f.online);
    this.renderPresence();
    if (!this.model.peerOnline) this.hidePeerTyping();
  },

  onError(f) {
    const refused = this.onRefused(f);
    if (refused) {
      // A failed bubble says why itself; a retry is worth a word.
      if (refused.retryMs) this.showNotice(this.errorText(f.code, f.message));
      return;
    }
    if (!f.id && this.olderInFlight) this.olderFailed();
    this.showNotice(this.errorText(f.code, f.message));
  },
};
