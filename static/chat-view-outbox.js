// ChatView's outbox: what the reader sends is queued (model.mjs Outbox),
// shown pending, kept in sessionStorage across reloads and logins, and
// sent one at a time in the typed order; refusals retry or fail visibly.
import { I18N } from './i18n.mjs';
import { messageFrame } from './chat-state.mjs';
import { charCount, normalizeText, newMessageId } from './text.mjs';

const t = (key, vars) => I18N.t(key, vars);

export const outbox = {
  /** sessionStorage survives a reload or a login in this tab; failures are harmless. */
  saveOutbox() {
    try {
      const data = this.model.outbox.saved();
      if (data.length) sessionStorage.setItem(this.outboxKey, JSON.stringify(data));
      else sessionStorage.removeItem(this.outboxKey);
    } catch (e) {
      // Storage disabled or full: the queue still works for this view.
    }
  },

  loadOutbox() {
    let data;
    try {
      data = JSON.parse(sessionStorage.getItem(this.outboxKey) || '[]');
    } catch (e) {
      data = [];
    }
    for (const entry of this.model.outbox.restore(data)) this.createPendingBubble(entry);
  },

  /**
   * Sends the next queued message, if the socket is ready and nothing is
   * in flight or held back (the outbox keeps the typed order).
   */
  pump() {
    if (!this.ready) return;
    const entry = this.model.outbox.takeNext();
    if (!entry) return;
    if (!this.socket.send(messageFrame(entry))) {
      this.model.outbox.connectionLost(); // the close event follows; the next socket resends
    }
  },

  /** The server refused our message `f.id`: retry it later, or show it failed. */
  onRefused(f) {
    const outcome = this.model.outbox.refuse(f.id, f.code);
    if (!outcome) return null;
    if (outcome.failed) {
      this.saveOutbox();
      const bubble = this.pendingEls.get(outcome.failed.id);
      this.pendingEls.delete(outcome.failed.id);
      bubble.classList.remove('pending');
      bubble.classList.add('failed');
      // Kept on the bubble so a language switch can word the reason again.
      bubble.dataset.errorCode = typeof f.code === 'string' ? f.code : '';
      bubble.dataset.errorMessage = typeof f.message === 'string' ? f.message : '';
      this.labelBubble(bubble);
      this.pump();
    } else {
      clearTimeout(this.resendTimer);
      this.resendTimer = setTimeout(() => {
        this.resendTimer = null;
        this.model.outbox.release();
        this.pump();
      }, outcome.retryMs);
    }
    return outcome;
  },

  /** An agent replying into a conversation nobody has opened is asked first. */
  needsConfirmation() {
    return this.role === 'agent' && !this.confirmedCreate && this.ready && this.model.isEmpty() && !this.model.peerOnline;
  },

  /** Reads the composer, queues the message and sends it if connected. */
  submitInput() {
    if (this.input.disabled) return;
    const text = normalizeText(this.input.value);
    this.input.focus();
    if (this.tray.busy()) {
      this.showNotice(t('waitForUploads'));
      return;
    }
    const files = this.tray.files();
    if (!text.trim() && !files.length) return;
    if (charCount(text) > this.maxChars) {
      this.updateComposer();
      return;
    }
    if (this.needsConfirmation()) {
      this.confirmBar.hidden = false; // the draft stays in the composer
      return;
    }
    const note = Boolean(this.noteToggle && this.noteToggle.checked);
    const entry = this.model.outbox.add(newMessageId(this.role), text, note, files);
    this.tray.clear();
    this.createPendingBubble(entry);
    this.saveOutbox();
    this.renderOlder();
    this.scrollToBottom(); // the sender always sees their own message
    this.input.value = '';
    this.updateComposer();
    this.stopTyping();
    this.pump();
  },
};
