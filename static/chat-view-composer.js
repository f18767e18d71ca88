// ChatView's composer: the textarea (size, counter, Enter to send) and
// typing, ours (told to the peer, throttled) and the peer's (shown).
import { I18N } from './i18n.mjs';
import { counterState, isSendKey, typingAction, typingLine } from './chat-state.mjs';
import { charCount, normalizeText } from './text.mjs';

const TYPING_SHOW_MS = 5000; // protocol: hide the peer's typing after 5 s

const t = (key, vars) => I18N.t(key, vars);

export const composer = {
  /** Grows the textarea with its content (CSS caps the height). */
  autoGrow() {
    this.input.style.height = 'auto';
    this.input.style.height = this.input.scrollHeight + 'px';
  },

  updateComposer() {
    const n = charCount(normalizeText(this.input.value));
    const max = this.maxChars;
    const { hidden, over } = counterState(n, max);
    // A tab another one took over cannot send: the draft waits, greyed.
    const blocked = this.socket.halted === 'replaced';
    this.input.disabled = blocked;
    this.counter.hidden = hidden;
    this.counter.textContent = t('counter', { n, max });
    this.counter.title = over ? t('tooLong', { n, max }) : '';
    this.counter.classList.toggle('over', over);
    this.sendButton.disabled = over || blocked;
    this.input.setAttribute('aria-invalid', over ? 'true' : 'false');
    this.autoGrow();
  },

  onInputKeydown(e) {
    if (this.replyPicker && !e.isComposing && this.replyPicker.keydown(e)) return;
    if (!isSendKey(e)) return; // Shift+Enter is a newline
    e.preventDefault();
    this.submitInput();
  },

  /** Tells the peer we type, refreshed at most every TYPING_SEND_MS (chat-state.mjs). */
  noteTyping() {
    const now = Date.now();
    const action = typingAction({ draft: this.input.value, ready: this.ready, now, sentAt: this.typingSentAt });
    if (action === 'stop') {
      this.stopTyping();
    } else if (action === 'send' && this.socket.send({ type: 'typing', active: true })) {
      this.typingSentAt = now;
      this.typingActive = true;
    }
  },

  stopTyping() {
    if (!this.typingActive) return;
    this.typingActive = false;
    this.typingSentAt = 0;
    this.socket.send({ type: 'typing', active: false });
  },

  /** Someone else (`who`, from people.mjs typistOf) typing or stopped. */
  onPeerTyping(active, who) {
    if (who) this.typist = who;
    clearTimeout(this.peerTypingTimer);
    this.peerTypingTimer = active ? setTimeout(() => this.hidePeerTyping(), TYPING_SHOW_MS) : null;
    this.typingEl.hidden = !active;
    this.renderPeerTyping();
  },

  hidePeerTyping() {
    this.onPeerTyping(false);
  },

  renderPeerTyping() {
    const [key, vars] = typingLine(this.typist || { role: this.peerRole });
    this.typingEl.textContent = t(key, vars);
  },
};
