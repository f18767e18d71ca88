// `ChatView`: one conversation seen by a customer or an agent, rendered
// from a `Conversation` (model.mjs) kept in step by a `ReconnectingSocket`
// (socket.mjs). The chat page (chat.js) shows one view for the whole page;
// the agent console (console.js) shows one at a time in its right pane.
// Speaks wire protocol v1 (PROTOCOL.md). User text goes in through text
// nodes only (links are built as elements, never parsed as HTML).
import { I18N } from './i18n.mjs';
import { Conversation } from './model.mjs';
import { eventText, itemKind } from './events.mjs';
import { AssignControl } from './assign-control.js';
import { ReplyPicker } from './reply-picker.js';
import { LabelControl } from './label-control.js';
import { ContactControl } from './contact-control.js';
import { AttachTray } from './attach-tray.js';
import { fileUrl, formatSize, isImage, pastedName, uploadUrl } from './attachments.mjs';
import { agentOf, senderOf, typistOf } from './people.mjs';
import { ReconnectingSocket, credentialsProbe } from './socket.mjs';
import { charCount, normalizeText, newMessageId, splitLinks } from './text.mjs';
import { el, pageParams, socketUrl, loginHref } from './dom.js';

const OLDER_PAGE = 50; // messages per "load older" request
const GAP_PAGE_MAX = 200; // the protocol's largest history_before limit
const NEAR_BOTTOM_PX = 80; // "user is reading the newest messages"
const NEAR_TOP_PX = 40; // scrolled to the top: fetch older messages
const NOTICE_MS = 5000;
const OLDER_RETRY_MS = 3000;
const DEFAULT_MAX_CHARS = 4000; // until welcome tells the real limit
const TYPING_SEND_MS = 2000; // protocol: at most one typing frame per 2 s
const TYPING_SHOW_MS = 5000; // protocol: hide the peer's typing after 5 s
const READ_DEBOUNCE_MS = 300; // one read frame per burst of scrolling

const t = (key, vars) => I18N.t(key, vars);

/** Message text as nodes: http(s) URLs become links that open a new tab. */
function textNodes(text) {
  return splitLinks(text).map((part) => (part.href
    ? el('a', { href: part.href, target: '_blank', rel: 'noopener noreferrer nofollow', text: part.text })
    : document.createTextNode(part.text)));
}

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

  // ---- DOM -----------------------------------------------------------------

  build(leading, trailing, extras) {
    const agent = this.role === 'agent';
    this.titleEl = el('h1', { id: 'title' });
    this.subtitleEl = el('p', { id: 'conversation', class: 'conversation' });
    // Agents see who the customer said they are, and correct it.
    this.contactControl = agent ? new ContactControl((frame) => this.send(frame)) : null;
    this.presenceEl = el('span', { id: 'presence', class: 'presence', 'data-online': 'false', 'data-stale': 'true' });
    this.statusEl = el('span', {
      id: 'status', class: 'status', 'data-state': 'reconnecting', role: 'status', 'aria-live': 'polite',
    });
    // Only agents see and change the conversation's status.
    this.convStatusEl = agent ? el('span', { id: 'conv-status', class: 'status-badge', 'data-status': 'open' }) : null;
    this.resolveButton = agent
      ? el('button', { type: 'button', id: 'resolve', class: 'button small', 'data-i18n': 'resolve' })
      : null;
    this.reopenButton = agent
      ? el('button', { type: 'button', id: 'reopen', class: 'button small', 'data-i18n': 'reopen', hidden: true })
      : null;
    // Agents see who has the conversation and hand it on.
    this.assignControl = agent ? new AssignControl((frame) => this.socket.send(frame), () => this.me) : null;
    this.labelControl = agent ? new LabelControl(this.clientId) : null;
    const header = el('header', { class: 'chat-header' }, [
      ...leading,
      el('div', { class: 'chat-titles' }, [
        this.titleEl, this.subtitleEl, this.contactControl && this.contactControl.element,
      ]),
      el('div', { class: 'chat-indicators' }, [
        this.presenceEl, this.statusEl, this.convStatusEl, this.assignControl && this.assignControl.element,
        this.labelControl && this.labelControl.element,
        this.resolveButton, this.reopenButton, ...trailing,
      ]),
    ]);

    this.reconnectHere = el('button', { type: 'button', id: 'reconnect-here', class: 'button', 'data-i18n': 'reconnectHere' });
    this.replacedBanner = el('div', { id: 'replaced', class: 'banner', role: 'alert', hidden: true }, [
      el('span', { id: 'replaced-text', 'data-i18n': 'replaced' }),
      this.reconnectHere,
    ]);
    // Agents only, and only where no owner shows one for the whole page.
    this.loginLink = agent && !this.onLoggedOut
      ? el('a', { id: 'login-again', class: 'button', 'data-i18n': 'logInAgain', href: '/agent/login' })
      : null;
    this.loggedOutBanner = this.loginLink
      ? el('div', { id: 'logged-out', class: 'banner', role: 'alert', hidden: true }, [
        el('span', { 'data-i18n': 'loggedOut' }), this.loginLink,
      ])
      : null;

    this.olderButton = el('button', { type: 'button', id: 'load-older', class: 'link-button', 'data-i18n': 'loadOlder', hidden: true });
    this.olderText = el('span', { id: 'older-text', class: 'older-text' });
    this.olderBox = el('div', { id: 'older', class: 'older', 'data-state': 'idle' }, [this.olderButton, this.olderText]);
    this.list = el('main', {
      id: 'messages', class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', tabindex: '0',
    }, [this.olderBox]);
    // Moved between bubbles, so outside I18N.apply's reach: relabel() words it.
    this.seenEl = el('div', { class: 'seen' });

    this.typingEl = el('div', { id: 'typing', class: 'typing', 'aria-live': 'polite', hidden: true });
    // Customers learn that writing again reopens a resolved conversation.
    this.resolvedNote = agent ? null : el('div', { id: 'resolved-note', class: 'resolved-note', 'data-i18n': 'resolvedNote', hidden: true });
    // Agents learn that nobody is there (yet) to read a reply.
    this.peerHint = agent ? el('div', { id: 'peer-hint', class: 'peer-hint', 'aria-live': 'polite', hidden: true }) : null;
    this.confirmSend = el('button', { type: 'button', id: 'confirm-send', class: 'button small', 'data-i18n': 'confirmSend' });
    this.confirmCancel = el('button', { type: 'button', id: 'confirm-cancel', class: 'link-button', 'data-i18n': 'cancel' });
    this.confirmBar = agent
      ? el('div', { id: 'confirm-create', class: 'banner', role: 'alert', hidden: true }, [
        el('span', { 'data-i18n': 'confirmCreate' }), this.confirmSend, this.confirmCancel,
      ])
      : null;
    this.noticeEl = el('div', { id: 'notice', class: 'notice', role: 'alert', hidden: true });

    this.input = el('textarea', {
      id: 'input', class: 'input', rows: '1', enterkeyhint: 'send', 'data-i18n-placeholder': 'placeholder',
    });
    this.counter = el('span', { id: 'counter', class: 'counter', 'aria-live': 'polite', hidden: true });
    this.sendButton = el('button', { type: 'submit', id: 'send', class: 'button send', 'data-i18n': 'send' });
    // Agents write a private note (only agents see it) with this ticked.
    this.noteToggle = agent ? el('input', { type: 'checkbox', id: 'note-toggle' }) : null;
    const noteBox = agent
      ? el('label', { class: 'note-toggle', 'data-i18n-title': 'privateNoteHint' }, [
        this.noteToggle, el('span', { 'data-i18n': 'privateNote' }),
      ])
      : null;
    // Agents: `/` offers the team's saved replies.
    this.replyPicker = agent ? new ReplyPicker(this.input, () => this.updateComposer()) : null;
    this.tray = new AttachTray({
      uploadUrl: (name) => uploadUrl(this.role, this.clientId, name, this.params),
      notice: (text) => this.showNotice(text),
      onChange: () => this.updateComposer(),
      signal: this.listeners.signal,
    });
    this.form = el('form', { id: 'composer', class: 'composer', autocomplete: 'off' }, [
      this.replyPicker && this.replyPicker.element,
      this.tray.element,
      el('label', { for: 'input', class: 'visually-hidden', 'data-i18n': 'inputLabel' }),
      this.input,
      el('div', { class: 'composer-side' }, [
        noteBox, this.counter, this.tray.input, this.tray.button, this.sendButton,
      ].filter(Boolean)),
    ]);

    this.root.classList.add('chat-view');
    this.root.dataset.role = this.role;
    const parts = [
      header, this.replacedBanner, this.loggedOutBanner, this.list, this.typingEl, this.resolvedNote,
      this.peerHint, this.confirmBar, this.noticeEl, ...extras, this.form,
    ];
    this.root.replaceChildren(...parts.filter(Boolean));
    I18N.apply(this.root);
  }

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

  // ---- scrolling -------------------------------------------------------------

  isNearBottom() {
    const list = this.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.list.scrollTop = this.list.scrollHeight;
    this.pinnedToBottom = true;
  }

  firstVisibleBubble() {
    const top = this.list.getBoundingClientRect().top;
    for (const bubble of this.list.querySelectorAll('.msg')) {
      if (bubble.getBoundingClientRect().bottom > top) return bubble;
    }
    return null;
  }

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
  }

  onListScroll() {
    this.pinnedToBottom = this.isNearBottom();
    if (this.list.scrollTop < NEAR_TOP_PX) this.fetchOlder(true);
    if (this.pinnedToBottom) this.clearUnread();
    this.scheduleRead();
  }

  // ---- bubbles ---------------------------------------------------------------

  /** A bubble: meta line (sender, time/state), `text` and its files. */
  createBubble(from, text, attachments) {
    const files = Array.isArray(attachments) && attachments.length ? this.filesBlock(attachments) : null;
    const bubble = el('div', { class: 'msg ' + (from === this.role ? 'mine' : 'theirs'), 'data-from': from }, [
      el('div', { class: 'meta' }, [el('span', { class: 'sender' }), el('time', { class: 'time' })]),
      text ? el('div', { class: 'text' }, textNodes(text)) : el('div', { class: 'text', hidden: true }),
      files,
    ]);
    this.labelBubble(bubble);
    return bubble;
  }

  /**
   * A message's files: images as thumbnails opening full size, others as
   * a named download with its size. Names only ever through textContent.
   */
  filesBlock(attachments) {
    const url = (a, thumbnail) => fileUrl(this.role, this.clientId, a, thumbnail, this.params);
    const block = el('div', { class: 'files' }, attachments.map((a) => {
      const name = typeof a.name === 'string' ? a.name : '';
      if (isImage(a)) {
        const img = el('img', { class: 'thumb', src: url(a, true), alt: name, loading: 'lazy' });
        return el('a', {
          class: 'file image', href: url(a, false), target: '_blank', rel: 'noopener',
          'data-i18n-title': 'openImage', 'data-i18n-var-name': name,
        }, [img]);
      }
      return el('a', {
        class: 'file download', href: url(a, false), download: name,
        'data-i18n-title': 'download', 'data-i18n-var-name': name, 'data-i18n-var-size': formatSize(a.size),
      }, [el('span', { class: 'file-name', text: name }), el('span', { class: 'file-size', text: formatSize(a.size) })]);
    }));
    I18N.apply(block);
    return block;
  }

  /** Sender and time (or sending/failed state) in the current language. */
  labelBubble(bubble) {
    const from = bubble.dataset.from;
    const author = bubble.dataset.authorId
      ? { id: Number(bubble.dataset.authorId), name: bubble.dataset.authorName }
      : null;
    const sender = senderOf(from, author, this.role, this.me);
    bubble.querySelector('.sender').textContent = sender.me ? t('me') : sender.name || t(sender.role);
    const tag = bubble.querySelector('.note-tag');
    if (tag) tag.textContent = t('privateNote');
    if (bubble.dataset.event) {
      const line = eventText(JSON.parse(bubble.dataset.event), t);
      if (line) bubble.querySelector('.text').textContent = line;
    }
    const time = bubble.querySelector('.time');
    if (bubble.classList.contains('pending')) {
      time.textContent = t('sending');
    } else if (bubble.classList.contains('failed')) {
      time.textContent = t('failed', { reason: this.errorText(bubble.dataset.errorCode, bubble.dataset.errorMessage) });
    } else if (time.dateTime) {
      time.textContent = I18N.formatTime(time.dateTime);
      time.title = I18N.formatDateTime(time.dateTime);
    }
  }

  /** Makes `bubble` show stored message `m` (also turns a pending one real). */
  fillStored(bubble, m) {
    bubble.classList.remove('pending', 'failed');
    bubble.dataset.seq = String(m.seq);
    if (typeof m.id === 'string') bubble.dataset.id = m.id;
    const author = agentOf(m.author);
    if (author) {
      bubble.dataset.authorId = String(author.id);
      bubble.dataset.authorName = author.name;
    }
    bubble.querySelector('.time').dateTime = typeof m.ts === 'string' ? m.ts : '';
    this.labelBubble(bubble);
  }

  /** Notes get a tag and their own style; events are a centred line. */
  markKind(bubble, m) {
    const kind = itemKind(m);
    if (kind === 'event') {
      bubble.classList.add('event');
      bubble.dataset.event = JSON.stringify(m.event);
    } else if (kind === 'note' && !bubble.classList.contains('note')) {
      bubble.classList.add('note');
      bubble.querySelector('.meta').append(el('span', { class: 'note-tag' }));
    }
  }

  createPendingBubble(entry) {
    const bubble = this.createBubble(this.role, entry.text, entry.attachments);
    if (entry.private) this.markKind(bubble, { private: true });
    bubble.classList.add('pending');
    bubble.dataset.id = entry.id;
    this.labelBubble(bubble);
    this.pendingEls.set(entry.id, bubble);
    this.list.appendChild(bubble); // pending ones stay below every stored message, in order
    return bubble;
  }

  /** Removes every stored (and failed) bubble; pending ones stay. */
  clearStored() {
    for (const bubble of this.list.querySelectorAll('.msg:not(.pending)')) bubble.remove();
    this.seenEl.remove();
    this.seqEls.clear();
    this.model.clear();
    this.olderInFlight = null;
  }

  /**
   * Shows one stored message (live, from history, or an acknowledgement).
   * `olderPage` is true for messages fetched with history_before.
   */
  acceptMessage(m, olderPage) {
    const { result, index, acked } = this.model.accept(m, olderPage);
    const pendingEl = acked ? this.pendingEls.get(acked.id) : null;
    if (acked) {
      this.pendingEls.delete(acked.id);
      this.saveOutbox();
    }
    if (result !== 'added') {
      if (pendingEl) pendingEl.remove(); // already shown, or shown when scrolled back: never twice
      return;
    }
    const bubble = pendingEl || this.createBubble(m.from, m.text, m.attachments);
    this.markKind(bubble, m);
    this.fillStored(bubble, m);
    const seqs = this.model.seqs;
    const next = index + 1 < seqs.length ? this.seqEls.get(seqs[index + 1]) : this.list.querySelector('.msg.pending');
    this.list.insertBefore(bubble, next || null);
    this.seqEls.set(m.seq, bubble);
    if (!olderPage && m.from !== this.role && document.hidden) this.bumpUnread();
  }

  // ---- "Seen" ------------------------------------------------------------------

  /** One mark, under the newest own message the peer has seen. */
  renderSeen() {
    const target = this.seqEls.get(this.model.seenSeq());
    if (!target) this.seenEl.remove();
    else if (target.nextSibling !== this.seenEl) target.after(this.seenEl);
  }

  onPeerRead(seq) {
    if (this.model.peerRead(seq)) this.withStableScroll(() => {});
  }

  // ---- read receipts (ours) ------------------------------------------------

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
  }

  sendRead() {
    if (!this.ready || document.visibilityState !== 'visible' || !this.canRead()) return;
    const seq = this.lastShownSeq();
    if (this.model.readIsNew(seq) && this.socket.send({ type: 'read', seq })) {
      this.model.readSent = seq;
      if (this.onReadTap) this.onReadTap(seq);
    }
  }

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
  }

  // ---- typing ------------------------------------------------------------------

  /** Tells the peer we type, refreshed at most every TYPING_SEND_MS. */
  noteTyping() {
    if (!this.input.value.trim()) {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (!this.ready || now - this.typingSentAt < TYPING_SEND_MS) return;
    if (this.socket.send({ type: 'typing', active: true })) {
      this.typingSentAt = now;
      this.typingActive = true;
    }
  }

  stopTyping() {
    if (!this.typingActive) return;
    this.typingActive = false;
    this.typingSentAt = 0;
    this.socket.send({ type: 'typing', active: false });
  }

  /** Someone else (`who`, from people.mjs typistOf) typing or stopped. */
  onPeerTyping(active, who) {
    if (who) this.typist = who;
    clearTimeout(this.peerTypingTimer);
    this.peerTypingTimer = active ? setTimeout(() => this.hidePeerTyping(), TYPING_SHOW_MS) : null;
    this.typingEl.hidden = !active;
    this.renderPeerTyping();
  }

  hidePeerTyping() {
    this.onPeerTyping(false);
  }

  renderPeerTyping() {
    const who = this.typist || { role: this.peerRole };
    this.typingEl.textContent = who.name
      ? t('typingNamed', { name: who.name })
      : t(who.role === 'agent' ? 'typingAgent' : 'typingCustomer');
  }

  // ---- older history -----------------------------------------------------------

  /**
   * Asks for older messages, one request at a time. Holes in the middle
   * (possible after a reconnect, since history is capped at 200) are filled
   * first; the top of the list is extended only when `wantTop` (the user
   * scrolled up, or the first history said there is more).
   */
  fetchOlder(wantTop) {
    if (!this.ready || this.olderInFlight) return;
    const model = this.model;
    const gap = model.findGap();
    if (gap) {
      const limit = Math.min(GAP_PAGE_MAX, gap.missing);
      if (this.socket.send({ type: 'history_before', before: gap.before, limit })) {
        this.olderInFlight = { kind: 'gap', before: gap.before };
      }
      this.renderOlder();
      return;
    }
    if (!wantTop || model.olderExhausted || !model.seqs.length) return;
    if (model.atBeginning()) {
      model.olderExhausted = true;
      this.renderOlder();
      return;
    }
    const before = model.lowest();
    if (this.socket.send({ type: 'history_before', before, limit: OLDER_PAGE })) {
      this.olderInFlight = { kind: 'top', before };
    }
    this.renderOlder();
  }

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
  }

  renderOlder() {
    let state;
    if (this.olderInFlight) state = 'loading';
    else if (!this.model.seqs.length) state = this.ready && !this.list.querySelector('.msg') ? 'empty' : 'idle';
    else if (this.model.olderExhausted) state = 'done';
    else state = 'more';
    this.olderBox.dataset.state = state;
    this.olderButton.hidden = state !== 'more';
    this.olderButton.disabled = !this.ready;
    const key = { loading: 'loadingOlder', done: 'beginning', empty: 'noMessages' }[state];
    this.olderText.textContent = key ? t(key) : '';
    this.olderText.hidden = !key;
  }

  // ---- outbox (pending messages) -------------------------------------------

  /** sessionStorage survives a reload or a login in this tab; failures are harmless. */
  saveOutbox() {
    try {
      const data = this.model.outbox.saved();
      if (data.length) sessionStorage.setItem(this.outboxKey, JSON.stringify(data));
      else sessionStorage.removeItem(this.outboxKey);
    } catch (e) {
      // Storage disabled or full: the queue still works for this view.
    }
  }

  loadOutbox() {
    let data;
    try {
      data = JSON.parse(sessionStorage.getItem(this.outboxKey) || '[]');
    } catch (e) {
      data = [];
    }
    for (const entry of this.model.outbox.restore(data)) this.createPendingBubble(entry);
  }

  /**
   * Sends the next queued message, if the socket is ready and nothing is
   * in flight or held back (the outbox keeps the typed order).
   */
  pump() {
    if (!this.ready) return;
    const entry = this.model.outbox.takeNext();
    if (!entry) return;
    const frame = { type: 'message', text: entry.text, id: entry.id };
    if (entry.private) frame.private = true;
    if (entry.attachments.length) frame.attachments = entry.attachments.map((a) => a.id);
    if (!this.socket.send(frame)) {
      this.model.outbox.connectionLost(); // the close event follows; the next socket resends
    }
  }

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
  }

  /** An agent replying into a conversation nobody has opened is asked first. */
  needsConfirmation() {
    return this.role === 'agent' && !this.confirmedCreate && this.ready && this.model.isEmpty() && !this.model.peerOnline;
  }

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
  }

  // ---- composer --------------------------------------------------------------

  /** Grows the textarea with its content (CSS caps the height). */
  autoGrow() {
    this.input.style.height = 'auto';
    this.input.style.height = this.input.scrollHeight + 'px';
  }

  updateComposer() {
    const n = charCount(normalizeText(this.input.value));
    const max = this.maxChars;
    const over = n > max;
    // A tab another one took over cannot send: the draft waits, greyed.
    const blocked = this.socket.halted === 'replaced';
    this.input.disabled = blocked;
    this.counter.hidden = n < max * 0.8;
    this.counter.textContent = t('counter', { n, max });
    this.counter.title = over ? t('tooLong', { n, max }) : '';
    this.counter.classList.toggle('over', over);
    this.sendButton.disabled = over || blocked;
    this.input.setAttribute('aria-invalid', over ? 'true' : 'false');
    this.autoGrow();
  }

  onInputKeydown(e) {
    if (this.replyPicker && !e.isComposing && this.replyPicker.keydown(e)) return;
    // Enter sends, Shift+Enter is a newline; never send mid-composition
    // (Chinese/Japanese IMEs use Enter to confirm a candidate).
    if (e.key !== 'Enter' || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    this.submitInput();
  }

  // ---- status, presence, notices --------------------------------------------

  setStatus(state, key) {
    this.statusEl.dataset.state = state;
    this.statusEl.textContent = t(key);
    this.root.dataset.connection = state;
    if (this.ownsPage) document.body.dataset.connection = state;
  }

  renderStatus() {
    const halted = this.socket.halted;
    if (halted === 'logged-out') this.setStatus('offline', 'loggedOutShort');
    else if (halted) this.setStatus('offline', 'disconnected');
    else if (this.ready) this.setStatus('connected', 'connected');
    else if (this.socket.paused || navigator.onLine === false) this.setStatus('offline', 'offline');
    else this.setStatus('reconnecting', this.everConnected ? 'reconnecting' : 'connecting');
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
  }

  renderPresence() {
    const online = Boolean(this.model.peerOnline);
    this.presenceEl.dataset.online = online ? 'true' : 'false';
    this.presenceEl.textContent = t(this.peerRole + (online ? 'Online' : 'Offline'));
    this.renderPeerHint();
  }

  /** Agents: nobody to read a reply yet, or not until the customer is back. */
  renderPeerHint() {
    if (!this.peerHint) return;
    let key = null;
    if (this.ready && !this.model.peerOnline) key = this.model.isEmpty() ? 'noConversation' : 'customerAway';
    this.peerHint.hidden = !key;
    this.peerHint.dataset.hint = key || '';
    this.peerHint.textContent = key ? t(key) : '';
    if (!this.needsConfirmation()) this.confirmBar.hidden = true;
  }

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
  }

  showNotice(text) {
    this.noticeEl.textContent = text;
    this.noticeEl.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      this.noticeEl.hidden = true;
    }, NOTICE_MS);
  }

  /** A server error in the UI language; unknown codes keep the server's text. */
  errorText(code, message) {
    const key = 'error_' + (code || '');
    if (code && I18N.has(key)) return t(key, { max: this.maxChars });
    return message || t('error_generic');
  }

  renderDocumentTitle() {
    const base = this.role === 'agent' ? t('titleAgent', { id: this.clientId }) : t('titleCustomer');
    document.title = this.unread ? t('unreadTitle', { n: this.unread, title: base }) : base;
  }

  bumpUnread() {
    if (!this.ownsPage) return; // the console counts unread itself
    this.unread += 1;
    this.renderDocumentTitle();
  }

  clearUnread() {
    if (!this.unread) return;
    this.unread = 0;
    this.renderDocumentTitle();
  }

  // ---- socket ------------------------------------------------------------------

  /** The address of the next socket: resumes after what is shown. */
  nextUrl() {
    this.socketSince = this.model.since();
    const params = new URLSearchParams(this.params);
    params.set('since', String(this.socketSince));
    return socketUrl('/ws/' + this.role + '/' + encodeURIComponent(this.clientId), params);
  }

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
  }

  onClose() {
    this.resetSocketState();
    this.model.gapStuck = false;
    this.renderStatus();
    this.renderOlder();
  }

  onHalt(reason) {
    this.renderStatus();
    if (reason === 'logged-out' && this.onLoggedOut) this.onLoggedOut();
  }

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
  }

  /** Sends a frame now; false if the socket is not open. */
  send(frame) {
    return this.ready && this.socket.send(frame);
  }

  /** The customer's contact details (`null`: none), shown to agents. */
  setContact(contact) {
    this.contact = contact && typeof contact === 'object' ? contact : null;
    if (this.contactControl) this.contactControl.set(this.contact);
  }

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
  }

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
  }

  onLiveMessage(f) {
    if (f.from === this.peerRole) this.hidePeerTyping(); // the message is what they typed
    this.withStableScroll(() => this.acceptMessage(f, false));
    this.renderOlder();
    this.renderConvStatus(); // the first message makes Resolve possible
    this.renderPeerHint();
    this.pump(); // an acknowledgement lets the next one go
    this.scheduleRead();
  }

  onPresence(f) {
    if (f.role !== this.peerRole) return;
    this.model.peerOnline = Boolean(f.online);
    this.renderPresence();
    if (!this.model.peerOnline) this.hidePeerTyping();
  }

  onError(f) {
    const refused = this.onRefused(f);
    if (refused) {
      // A failed bubble says why itself; a retry is worth a word.
      if (refused.retryMs) this.showNotice(this.errorText(f.code, f.message));
      return;
    }
    if (!f.id && this.olderInFlight) {
      // history_before is our one request answered by a frame: an error
      // without an id is likely about it, so try again later.
      this.olderInFlight = null;
      clearTimeout(this.olderRetryTimer);
      this.olderRetryTimer = setTimeout(() => this.fetchOlder(this.list.scrollTop < NEAR_TOP_PX), OLDER_RETRY_MS);
      this.renderOlder();
    }
    this.showNotice(this.errorText(f.code, f.message));
  }
}
