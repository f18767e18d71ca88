// `ChatView`: one conversation seen by a customer or an agent, rendered
// from a `Conversation` (model.mjs) kept in step by a `ReconnectingSocket`
// (socket.mjs). The chat page (chat.js) shows one view for the whole page;
// the agent console (console.js) shows one at a time in its right pane.
// Speaks wire protocol v1 (PROTOCOL.md). User text goes in through text
// nodes only (links are built as elements, never parsed as HTML).
//
// This file holds the view's state, its listeners and its lifetime; its
// methods are grouped by concern in chat-view-*.js (plain objects of
// methods mixed into the prototype below, sharing the view's state), and
// the decisions that need no DOM are in chat-state.mjs.
import { I18N } from './i18n.mjs';
import { Conversation } from './model.mjs';
import { pastedName } from './attachments.mjs';
import { ReconnectingSocket, credentialsProbe } from './socket.mjs';
import { pageParams } from './dom.js';
import { layout } from './chat-view-layout.js';
import { bubbles } from './chat-view-bubbles.js';
import { scroll } from './chat-view-scroll.js';
import { older } from './chat-view-older.js';
import { outbox } from './chat-view-outbox.js';
import { composer } from './chat-view-composer.js';
import { status } from './chat-view-status.js';
import { frames } from './chat-view-frames.js';

const DEFAULT_MAX_CHARS = 4000; // until welcome tells the real limit

const t = (key, vars) => I18N.t(key, vars);

export class ChatView {
  /**
   * Builds the view inside `root` and connects. Options:
   * - role: 'customer' or 'agent'; clientId: the conversation.
   * - ownsPage: the view is the whole page, so it sets document.title
   *   (with an unread count while hidden) and body[data-connection].
   * - leading/trailing: nodes put at the start/end of the view's header.
   * - autofocus: focus the composer (default true).
   * - onLoggedOut: called instead of showing the view's own "logged out"
   *   banner (the console shows one for the whole page).
   * - params: socket query parameters (default: the page's own, as
   *   pageParams() gives them).
   * - extras: nodes put between the messages and the composer.
   * - canRead: whether the messages are really seen now (the widget's
   *   panel may be closed); read marks wait until it says yes.
   * - onFrame(f), onRead(seq): told of every frame after the view handled
   *   it, and of every read mark sent.
   */
  constructor(root, options = {}) {
    this.root = root;
    this.model = new Conversation(options.role);
    this.role = this.model.role;
    this.peerRole = this.model.peerRole;
    this.clientId = String(options.clientId || '');
    this.params = options.params || pageParams();
    this.canRead = options.canRead || (() => true);
    this.onFrameTap = options.onFrame || null;
    this.onReadTap = options.onRead || null;
    this.contact = null; // the customer's name and email, if given
    this.ownsPage = Boolean(options.ownsPage);
    this.onLoggedOut = options.onLoggedOut || null;
    // sessionStorage: survives a reload and a trip to the login form in this tab.
    this.outboxKey = 'support-chat:outbox:v1:' + this.role + ':' + this.clientId;

    this.seqEls = new Map(); // seq -> bubble element, for stored messages
    this.pendingEls = new Map(); // outbox id -> pending bubble

    this.socketSince = 0; // `since` the current socket was opened with
    this.awaitingHistory = false; // welcome seen, first history not yet
    this.ready = false; // welcome + first history received: safe to send
    this.everConnected = false;
    this.destroyed = false;

    this.maxChars = DEFAULT_MAX_CHARS;
    this.olderInFlight = null; // {kind: 'top'|'gap', before} of the one request allowed
    this.olderRetryTimer = null;
    this.resendTimer = null; // the refused head of the outbox goes again
    this.noticeTimer = null;
    this.unread = 0; // peer messages that arrived while the page was hidden
    this.pinnedToBottom = true; // the reader follows the newest message
    this.confirmedCreate = false; // the agent agreed to start an empty conversation

    this.readTimer = null;
    this.typingSentAt = 0; // when our last typing:true went out
    this.typingActive = false; // the peer was told we are typing
    this.peerTypingTimer = null;
    this.typist = null; // {name} or {role} of whoever types, from people.mjs
    this.me = null; // on an agent page, the agent this socket acts as

    this.socket = new ReconnectingSocket({
      url: () => this.nextUrl(),
      onFrame: (f) => this.onFrame(f),
      onClose: () => this.onClose(),
      onHalt: (reason) => this.onHalt(reason),
      // Only agents have credentials to lose.
      probe: this.role === 'agent' ? credentialsProbe(this.params) : null,
    });

    this.listeners = new AbortController(); // every listener goes with destroy()
    this.build(options.leading || [], options.trailing || [], options.extras || []);
    this.wire();
    this.loadOutbox();
    this.relabel();
    this.scrollToBottom();
    if (options.autofocus !== false) this.input.focus();
    this.socket.connect();
    this.renderStatus();
  }

  /** Closes the socket, stops every timer and listener, empties `root`. */
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.socket.destroy();
    for (const timer of [this.olderRetryTimer, this.noticeTimer, this.readTimer, this.peerTypingTimer, this.resendTimer]) {
      clearTimeout(timer);
    }
    this.listeners.abort();
    if (this.resizeObserver) this.resizeObserver.disconnect();
    this.root.replaceChildren();
    this.root.classList.remove('chat-view');
    if (this.ownsPage) this.clearUnread();
  }

  /** Every listener of the view (destroy() removes them all). */
  wire() {
    const opts = { signal: this.listeners.signal };
    const passive = { signal: this.listeners.signal, passive: true };
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submitInput();
    }, opts);
    this.input.addEventListener('keydown', (e) => this.onInputKeydown(e), opts);
    // A pasted screenshot (or copied files) attaches; pasted text stays text.
    this.input.addEventListener('paste', (e) => {
      const files = [...((e.clipboardData && e.clipboardData.files) || [])];
      if (!files.length) return;
      e.preventDefault();
      this.tray.add(files.map((f) => (f.name && f.name !== 'image.png' ? f : new File([f], pastedName(f.type), { type: f.type }))));
    }, opts);
    this.root.addEventListener('dragover', (e) => {
      if (!e.dataTransfer || ![...e.dataTransfer.types].includes('Files')) return;
      e.preventDefault();
      this.root.classList.add('dropping');
    }, opts);
    this.root.addEventListener('dragleave', (e) => {
      if (!this.root.contains(e.relatedTarget)) this.root.classList.remove('dropping');
    }, opts);
    this.root.addEventListener('drop', (e) => {
      this.root.classList.remove('dropping');
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      e.preventDefault();
      this.tray.add([...e.dataTransfer.files]);
    }, opts);
    this.input.addEventListener('input', () => {
      this.updateComposer();
      this.noteTyping();
      if (this.replyPicker) this.replyPicker.update();
    }, opts);
    this.list.addEventListener('scroll', () => this.onListScroll(), passive);
    if (this.noteToggle) {
      this.noteToggle.addEventListener('change', () => {
        this.form.classList.toggle('note-mode', this.noteToggle.checked);
        this.input.dataset.i18nPlaceholder = this.noteToggle.checked ? 'notePlaceholder' : 'placeholder';
        this.input.placeholder = t(this.input.dataset.i18nPlaceholder);
        this.input.focus();
      }, opts);
    }
    this.olderButton.addEventListener('click', () => this.fetchOlder(true), opts);
    this.reconnectHere.addEventListener('click', () => {
      this.socket.reconnectNow(); // this tab becomes the newest one
      this.renderStatus();
      this.input.focus();
    }, opts);
    if (this.resolveButton) {
      this.resolveButton.addEventListener('click', () => this.socket.send({ type: 'resolve' }), opts);
      this.reopenButton.addEventListener('click', () => this.socket.send({ type: 'reopen' }), opts);
      this.confirmSend.addEventListener('click', () => {
        this.confirmedCreate = true;
        this.confirmBar.hidden = true;
        this.submitInput();
      }, opts);
      this.confirmCancel.addEventListener('click', () => {
        this.confirmBar.hidden = true;
        this.input.focus();
      }, opts);
    }

    window.addEventListener('offline', () => {
      this.socket.pause();
      this.resetSocketState();
      this.renderStatus();
    }, opts);
    window.addEventListener('online', () => {
      this.resetSocketState();
      this.socket.resume();
      this.renderStatus();
    }, opts);
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return;
      if (this.isNearBottom()) this.clearUnread();
      this.scheduleRead();
      this.socket.hurry(); // back in front while waiting to retry: do not make the user wait
    }, opts);
    window.addEventListener('focus', () => this.scheduleRead(), opts);
    // Leaving the page closes the socket cleanly (the peer sees "offline"
    // at once); coming back from the back/forward cache reconnects.
    window.addEventListener('pagehide', () => {
      this.socket.drop();
      this.resetSocketState();
    }, opts);
    window.addEventListener('pageshow', (e) => {
      if (e.persisted && !this.socket.halted) this.socket.reconnectNow();
    }, opts);
    I18N.onChange(() => this.relabel(), opts.signal);
    this.watchListSize();
  }

  /**
   * The list shrinks when the mobile keyboard opens or the textarea grows;
   * a reader who was at the bottom must stay there. It also grows from
   * nothing when the console shows a hidden pane: that is when messages
   * become visible, hence read.
   */
  watchListSize() {
    if (typeof ResizeObserver !== 'function') return;
    this.resizeObserver = new ResizeObserver(() => {
      if (this.pinnedToBottom) this.list.scrollTop = this.list.scrollHeight;
      this.scheduleRead();
    });
    this.resizeObserver.observe(this.list);
  }

  /** Every translated text of the view, again (the language changed). */
  relabel() {
    if (this.role === 'agent') {
      this.titleEl.textContent = t('conversation', { id: this.clientId });
      this.subtitleEl.textContent = t('agentView');
    } else {
      this.titleEl.textContent = t('titleCustomer');
      this.subtitleEl.textContent = t('conversation', { id: this.clientId });
    }
    if (this.ownsPage) this.renderDocumentTitle();
    for (const bubble of this.list.querySelectorAll('.msg')) this.labelBubble(bubble);
    this.renderPresence();
    this.renderStatus();
    this.renderOlder();
    this.renderPeerTyping();
    this.seenEl.textContent = t('seen');
    if (this.assignControl) this.assignControl.render();
    if (this.labelControl) this.labelControl.render();
    this.updateComposer();
  }
}

Object.assign(ChatView.prototype, layout, bubbles, scroll, older, outbox, composer, status, frames);
