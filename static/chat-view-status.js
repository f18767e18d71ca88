// ChatView's status lines: the connection badge and banners, the peer's
// presence, the conversation's status (and the agents' Resolve/Reopen),
// notices, error texts and the page title with its unread count.
import { I18N } from './i18n.mjs';
import { connectionState, errorText, pageTitle, peerHintKey } from './chat-state.mjs';
import { loginHref } from './dom.js';

const NOTICE_MS = 5000;

const t = (key, vars) => I18N.t(key, vars);

export const status = {
  setStatus(state, key) {
    this.statusEl.dataset.state = state;
    this.statusEl.textContent = t(key);
    this.root.dataset.connection = state;
    if (this.ownsPage) document.body.dataset.connection = state;
  },

  renderStatus() {
    const halted = this.socket.halted;
    const [state, key] = connectionState({
      halted,
      ready: this.ready,
      paused: this.socket.paused,
      offline: navigator.onLine === false,
      everConnected: this.everConnected,
    });
    this.setStatus(state, key);
    this.presenceEl.dataset.stale = this.ready ? 'false' : 'true';
    this.replacedBanner.hidden = halted !== 'replaced';
    if (this.loggedOutBanner) {
      this.loggedOutBanner.hidden = halted !== 'logged-out';
      this.loginLink.href = loginHref();
    }
    this.olderButton.disabled = !this.ready;
    this.renderConvStatus();
    this.renderPeerHint();
    this.updateComposer();
  },

  renderPresence() {
    const online = Boolean(this.model.peerOnline);
    this.presenceEl.dataset.online = online ? 'true' : 'false';
    this.presenceEl.textContent = t(this.peerRole + (online ? 'Online' : 'Offline'));
    this.renderPeerHint();
  },

  /** Agents: nobody to read a reply yet, or not until the customer is back. */
  renderPeerHint() {
    if (!this.peerHint) return;
    const key = peerHintKey(this.ready, this.model.peerOnline, this.model.isEmpty());
    this.peerHint.hidden = !key;
    this.peerHint.dataset.hint = key || '';
    this.peerHint.textContent = key ? t(key) : '';
    if (!this.needsConfirmation()) this.confirmBar.hidden = true;
  },

  /** The status badge, Resolve and Reopen (agents), the note (customers). */
  renderConvStatus() {
    const resolved = this.model.status === 'resolved';
    if (this.convStatusEl) {
      this.convStatusEl.dataset.status = this.model.status;
      this.convStatusEl.textContent = t(resolved ? 'statusResolved' : 'statusOpen');
    }
    if (this.resolveButton) {
      // Nothing to resolve before the first message (the server refuses).
      this.resolveButton.disabled = resolved || !this.ready || !this.model.highest();
      this.resolveButton.hidden = resolved;
      this.reopenButton.hidden = !resolved;
      this.reopenButton.disabled = !this.ready;
    }
    if (this.resolvedNote) this.resolvedNote.hidden = !resolved;
  },

  showNotice(text) {
    this.noticeEl.textContent = text;
    this.noticeEl.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      this.noticeEl.hidden = true;
    }, NOTICE_MS);
  },

  /** A server error in the UI language; unknown codes keep the server's text. */
  errorText(code, message) {
    return errorText(I18N, code, message, this.maxChars);
  },

  renderDocumentTitle() {
    const base = this.role === 'agent' ? t('titleAgent', { id: this.clientId }) : t('titleCustomer');
    document.title = pageTitle(base, this.unread, t);
  },

  bumpUnread() {
    if (!this.ownsPage) return; // the console counts unread itself
    this.unread += 1;
    this.renderDocumentTitle();
  },

  clearUnread() {
    if (!this.unread) return;
    this.unread = 0;
    this.renderDocumentTitle();
  },
};
