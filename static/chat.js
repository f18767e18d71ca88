// support-chat browser client: `ChatView`, one conversation seen by a
// customer or an agent. The chat page (/chat/client/{id}, /chat/server/{id})
// shows one view for the whole page; the agent console (/agent) shows one
// view at a time in its right pane and swaps it without reloading.
// Speaks wire protocol v1 (PROTOCOL.md). No frameworks, no build step, and
// no HTML parsing of dynamic values: user text goes in through textContent.
// Needs i18n.js (the global I18N) loaded first.
'use strict';

(() => {
  // ---- configuration -------------------------------------------------------

  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const RETRY_MIN_MS = 1000; // resend after store_unavailable / shutting_down
  const OLDER_PAGE = 50; // messages per "load older" request
  const GAP_PAGE_MAX = 200; // the protocol's largest history_before limit
  const NEAR_BOTTOM_PX = 80; // "user is reading the newest messages"
  const NEAR_TOP_PX = 40; // scrolled to the top: fetch older messages
  const NOTICE_MS = 5000;
  const DEFAULT_MAX_CHARS = 4000; // until welcome tells the real limit
  const MAX_ID_CHARS = 64;
  const TYPING_SEND_MS = 2000; // protocol: at most one typing frame per 2 s
  const TYPING_SHOW_MS = 5000; // protocol: hide the peer's typing after 5 s
  const READ_DEBOUNCE_MS = 300; // one read frame per burst of scrolling
  // Errors after which the same message is resent later (not a failure).
  const RETRYABLE = new Set(['store_unavailable', 'shutting_down', 'rate_limited']);

  const t = (key, vars) => I18N.t(key, vars);

  // ---- helpers shared with the console ---------------------------------------

  /**
   * Creates an element. `attrs` become attributes (`true` means present,
   * `false`/null/undefined absent), except `text` (textContent) and
   * `class`; `children` are nodes appended in order.
   */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  /**
   * The page's query parameters (an agent's token, a customer's identity
   * signature) ride along on every socket; `lang` only concerns the page.
   */
  function pageParams() {
    const params = new URLSearchParams(location.search);
    params.delete('lang');
    return params;
  }

  /** A same-host socket URL (ws: or wss: like the page) with `params`. */
  function socketUrl(path, params) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = params ? params.toString() : '';
    return scheme + '//' + location.host + path + (query ? '?' + query : '');
  }

  /** Characters as the server counts them (Unicode scalar values). */
  function charCount(text) {
    return Array.from(text).length; // code points, not UTF-16 units
  }

  /** Drops leading blank lines and trailing whitespace; keeps indentation. */
  function normalizeText(text) {
    return text.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/\s+$/, '');
  }

  /** A client message id: unique enough to make resends idempotent. */
  function newMessageId(role) {
    let raw;
    if (window.crypto && typeof crypto.randomUUID === 'function') {
      raw = crypto.randomUUID(); // only in secure contexts (https, localhost)
    } else {
      const bytes = new Uint8Array(16);
      if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
      else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
      raw = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    }
    return (role === 'agent' ? 'a-' : 'c-') + raw.slice(0, MAX_ID_CHARS - 2);
  }

  // ---- the view ----------------------------------------------------------------

  class ChatView {
    /**
     * Builds the view inside `root` and connects. Options:
     * - role: 'customer' or 'agent'; clientId: the conversation.
     * - extraParams: more socket query parameters, added to the page's own.
     * - ownsPage: the view is the whole page, so it sets document.title
     *   (with an unread count while hidden) and body[data-connection].
     * - leading/trailing: nodes put at the start/end of the view's header.
     * - autofocus: focus the composer (default true).
     */
    constructor(root, options = {}) {
      this.root = root;
      this.role = options.role === 'agent' ? 'agent' : 'customer';
      this.peerRole = this.role === 'agent' ? 'customer' : 'agent';
      this.clientId = String(options.clientId || '');
      this.params = pageParams();
      for (const [k, v] of new URLSearchParams(options.extraParams || '')) this.params.set(k, v);
      this.ownsPage = Boolean(options.ownsPage);
      this.outboxKey = 'support-chat:outbox:v1:' + this.role + ':' + this.clientId;

      this.seqEls = new Map(); // seq -> bubble element, for stored messages
      this.seqs = []; // seqs shown, ascending (kept in step with seqEls)
      this.outbox = []; // {id, text, el, retryTimer, attempts}: not yet acknowledged

      this.ws = null; // the current socket; frames from older sockets are ignored
      this.socketSince = 0; // `since` the current socket was opened with
      this.awaitingHistory = false; // welcome seen, first history not yet
      this.ready = false; // welcome + first history received: safe to send
      this.everConnected = false;
      this.replaced = false; // a newer tab took over (close 4001): no auto-reconnect
      this.networkDown = false; // an `offline` event fired and no `online` since
      this.destroyed = false;
      this.backoffMs = BACKOFF_MIN_MS;
      this.reconnectTimer = null;

      this.maxChars = DEFAULT_MAX_CHARS;
      this.olderExhausted = false; // the first message of the conversation is shown
      this.olderInFlight = null; // {kind: 'top'|'gap', before} of the one request allowed
      this.olderRetryTimer = null;
      this.gapStuck = false; // a gap request brought nothing: stop until reconnect
      this.noticeTimer = null;
      this.unread = 0; // peer messages that arrived while the page was hidden
      this.pinnedToBottom = true; // the reader follows the newest message

      this.peerOnline = null; // unknown until the first welcome
      this.convStatus = 'open';
      this.readSent = 0; // highest read mark this side has stored
      this.readTimer = null;
      this.peerReadSeq = 0; // what the other side has seen
      this.typingSentAt = 0; // when our last typing:true went out
      this.typingActive = false; // the peer was told we are typing
      this.peerTypingTimer = null;

      this.listeners = new AbortController(); // every listener goes with destroy()
      this.build(options.leading || [], options.trailing || []);
      this.wire();
      this.loadOutbox();
      this.relabel();
      this.scrollToBottom();
      if (options.autofocus !== false) this.input.focus();
      this.connect();
    }

    /** Closes the socket, stops every timer and listener, empties `root`. */
    destroy() {
      if (this.destroyed) return;
      this.destroyed = true;
      this.dropSocket();
      clearTimeout(this.reconnectTimer);
      clearTimeout(this.olderRetryTimer);
      clearTimeout(this.noticeTimer);
      clearTimeout(this.readTimer);
      clearTimeout(this.peerTypingTimer);
      for (const entry of this.outbox) clearTimeout(entry.retryTimer);
      this.listeners.abort();
      if (this.resizeObserver) this.resizeObserver.disconnect();
      this.root.replaceChildren();
      this.root.classList.remove('chat-view');
      if (this.ownsPage) this.clearUnread();
    }

    // ---- DOM -----------------------------------------------------------------

    build(leading, trailing) {
      const agent = this.role === 'agent';
      this.titleEl = el('h1', { id: 'title' });
      this.subtitleEl = el('p', { id: 'conversation', class: 'conversation' });
      this.presenceEl = el('span', { id: 'presence', class: 'presence', 'data-online': 'false', 'data-stale': 'true' });
      this.statusEl = el('span', {
        id: 'status', class: 'status', 'data-state': 'reconnecting', role: 'status', 'aria-live': 'polite',
      });
      // Only agents see and change the conversation's status.
      this.convStatusEl = agent ? el('span', { id: 'conv-status', class: 'status-badge', 'data-status': 'open' }) : null;
      this.resolveButton = agent
        ? el('button', { type: 'button', id: 'resolve', class: 'button small', 'data-i18n': 'resolve' })
        : null;
      const header = el('header', { class: 'chat-header' }, [
        ...leading,
        el('div', { class: 'chat-titles' }, [this.titleEl, this.subtitleEl]),
        el('div', { class: 'chat-indicators' }, [
          this.presenceEl, this.statusEl, this.convStatusEl, this.resolveButton, ...trailing,
        ]),
      ]);

      this.reconnectHere = el('button', { type: 'button', id: 'reconnect-here', class: 'button', 'data-i18n': 'reconnectHere' });
      this.replacedBanner = el('div', { id: 'replaced', class: 'banner', role: 'alert', hidden: true }, [
        el('span', { id: 'replaced-text', 'data-i18n': 'replaced' }),
        this.reconnectHere,
      ]);

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
      this.noticeEl = el('div', { id: 'notice', class: 'notice', role: 'alert', hidden: true });

      this.input = el('textarea', {
        id: 'input', class: 'input', rows: '1', enterkeyhint: 'send', 'data-i18n-placeholder': 'placeholder',
      });
      this.counter = el('span', { id: 'counter', class: 'counter', 'aria-live': 'polite', hidden: true });
      this.sendButton = el('button', { type: 'submit', id: 'send', class: 'button send', 'data-i18n': 'send' });
      this.form = el('form', { id: 'composer', class: 'composer', autocomplete: 'off' }, [
        el('label', { for: 'input', class: 'visually-hidden', 'data-i18n': 'inputLabel' }),
        this.input,
        el('div', { class: 'composer-side' }, [this.counter, this.sendButton]),
      ]);

      this.root.classList.add('chat-view');
      this.root.dataset.role = this.role;
      const parts = [header, this.replacedBanner, this.list, this.typingEl, this.resolvedNote, this.noticeEl, this.form];
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
      this.input.addEventListener('input', () => {
        this.updateComposer();
        this.noteTyping();
      }, opts);
      this.list.addEventListener('scroll', () => this.onListScroll(), passive);
      this.olderButton.addEventListener('click', () => this.fetchOlder(true), opts);
      this.reconnectHere.addEventListener('click', () => {
        this.replaced = false;
        this.reconnectNow(); // this tab becomes the newest one
        this.input.focus();
      }, opts);
      if (this.resolveButton) {
        this.resolveButton.addEventListener('click', () => this.sendFrame({ type: 'resolve' }), opts);
      }

      window.addEventListener('offline', () => {
        // The socket may linger half-dead for minutes: drop it now.
        this.networkDown = true;
        this.dropSocket();
        clearTimeout(this.reconnectTimer);
        this.reconnectTimer = null;
        this.renderStatus();
      }, opts);
      window.addEventListener('online', () => {
        this.networkDown = false;
        if (!this.replaced) this.reconnectNow();
      }, opts);
      document.addEventListener('visibilitychange', () => {
        if (document.hidden) return;
        if (this.isNearBottom()) this.clearUnread();
        this.scheduleRead();
        // Back in front while waiting to retry: do not make the user wait.
        if (!this.ws && this.reconnectTimer && !this.replaced) this.reconnectNow();
      }, opts);
      window.addEventListener('focus', () => this.scheduleRead(), opts);
      // Leaving the page closes the socket cleanly (the peer sees "offline"
      // at once); coming back from the back/forward cache reconnects.
      window.addEventListener('pagehide', () => {
        this.dropSocket();
        clearTimeout(this.reconnectTimer);
        this.reconnectTimer = null;
      }, opts);
      window.addEventListener('pageshow', (e) => {
        if (e.persisted && !this.replaced) this.reconnectNow();
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
      this.renderConvStatus();
      this.renderPeerTyping();
      this.seenEl.textContent = t('seen');
      this.updateComposer();
    }

    // ---- small helpers -------------------------------------------------------

    highestSeen() {
      return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0;
    }

    lowestShown() {
      return this.seqs.length ? this.seqs[0] : 0;
    }

    /** Index where `seq` belongs in the ascending `seqs` array. */
    seqIndex(seq) {
      let lo = 0;
      let hi = this.seqs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.seqs[mid] < seq) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }

    sendFrame(obj) {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      try {
        ws.send(JSON.stringify(obj));
        return true;
      } catch (e) {
        return false;
      }
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

    /** An empty bubble skeleton: meta line (sender, time/state) and text. */
    createBubble(from) {
      const bubble = el('div', { class: 'msg ' + (from === this.role ? 'mine' : 'theirs'), 'data-from': from }, [
        el('div', { class: 'meta' }, [el('span', { class: 'sender' }), el('time', { class: 'time' })]),
        el('div', { class: 'text' }),
      ]);
      this.labelBubble(bubble);
      return bubble;
    }

    /** Sender and time (or sending/failed state) in the current language. */
    labelBubble(bubble) {
      const from = bubble.dataset.from;
      bubble.querySelector('.sender').textContent = from === this.role ? t('me') : t(from);
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

    /** Fills a bubble with a stored message (also turns a pending one real). */
    fillStored(bubble, m) {
      bubble.classList.remove('pending', 'failed');
      bubble.dataset.seq = String(m.seq);
      if (typeof m.id === 'string') bubble.dataset.id = m.id;
      bubble.querySelector('.text').textContent = m.text;
      bubble.querySelector('.time').dateTime = typeof m.ts === 'string' ? m.ts : '';
      this.labelBubble(bubble);
    }

    createPendingBubble(entry) {
      const bubble = this.createBubble(this.role);
      bubble.classList.add('pending');
      bubble.dataset.id = entry.id;
      bubble.querySelector('.text').textContent = entry.text;
      this.labelBubble(bubble);
      return bubble;
    }

    /**
     * Puts a stored bubble at its seq position. Pending bubbles always stay
     * below every stored message, in the order they were written.
     */
    insertStored(bubble, seq) {
      const i = this.seqIndex(seq);
      const next = i < this.seqs.length ? this.seqEls.get(this.seqs[i]) : this.list.querySelector('.msg.pending');
      this.list.insertBefore(bubble, next || null);
      this.seqs.splice(i, 0, seq);
      this.seqEls.set(seq, bubble);
    }

    /** Removes every stored (and failed) bubble; pending ones stay. */
    clearStored() {
      for (const bubble of this.list.querySelectorAll('.msg:not(.pending)')) bubble.remove();
      this.seenEl.remove();
      this.seqEls.clear();
      this.seqs.length = 0;
      this.olderExhausted = false;
      this.olderInFlight = null;
      this.gapStuck = false;
    }

    /**
     * Shows one stored message (live, from history, or an acknowledgement).
     * `olderPage` is true for messages fetched with history_before.
     */
    acceptMessage(m, olderPage) {
      if (!m || !Number.isSafeInteger(m.seq) || m.seq < 1 || typeof m.text !== 'string') return;
      if (m.from !== 'agent' && m.from !== 'customer') return;

      // Our own message coming back is the acknowledgement of a pending one.
      const entry = m.from === this.role && typeof m.id === 'string'
        ? this.outbox.find((e) => e.id === m.id)
        : undefined;
      if (entry) this.dropFromOutbox(entry);

      if (this.seqEls.has(m.seq)) {
        if (entry) entry.el.remove(); // already shown: never twice
        return;
      }
      // A resent message acknowledged far below what is loaded: it shows up
      // when the user scrolls back; inserting it now would open a huge gap.
      if (!olderPage && this.seqs.length && m.seq < this.lowestShown() && !this.olderExhausted) {
        if (entry) entry.el.remove();
        return;
      }
      let bubble;
      if (entry) {
        bubble = entry.el; // the pending bubble becomes the real message
        bubble.remove();
      } else {
        bubble = this.createBubble(m.from);
      }
      this.fillStored(bubble, m);
      this.insertStored(bubble, m.seq);
      if (m.seq === 1) this.olderExhausted = true;
      if (!olderPage && m.from !== this.role && document.hidden) this.bumpUnread();
    }

    // ---- "Seen" ------------------------------------------------------------------

    /** One mark, under the newest own message the peer has seen. */
    renderSeen() {
      let target = null;
      for (let i = this.seqIndex(this.peerReadSeq + 1) - 1; i >= 0; i--) {
        const bubble = this.seqEls.get(this.seqs[i]);
        if (bubble.dataset.from === this.role) {
          target = bubble;
          break;
        }
      }
      if (!target) this.seenEl.remove();
      else if (target.nextSibling !== this.seenEl) target.after(this.seenEl);
    }

    onPeerRead(seq) {
      if (!Number.isSafeInteger(seq) || seq <= this.peerReadSeq) return;
      this.peerReadSeq = seq;
      this.withStableScroll(() => {});
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
      if (!this.ready || document.visibilityState !== 'visible') return;
      const seq = this.lastShownSeq();
      if (seq > this.readSent && this.sendFrame({ type: 'read', seq })) this.readSent = seq;
    }

    /** The newest message whose top is above the bottom of the visible list. */
    lastShownSeq() {
      // A list with no height is not on screen (the console's narrow layout
      // hides the conversation pane behind the list).
      if (!this.list.clientHeight) return 0;
      const bottom = this.list.getBoundingClientRect().bottom;
      for (let i = this.seqs.length - 1; i >= 0; i--) {
        if (this.seqEls.get(this.seqs[i]).getBoundingClientRect().top < bottom) return this.seqs[i];
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
      if (this.sendFrame({ type: 'typing', active: true })) {
        this.typingSentAt = now;
        this.typingActive = true;
      }
    }

    stopTyping() {
      if (!this.typingActive) return;
      this.typingActive = false;
      this.typingSentAt = 0;
      this.sendFrame({ type: 'typing', active: false });
    }

    onPeerTyping(active) {
      clearTimeout(this.peerTypingTimer);
      this.peerTypingTimer = active ? setTimeout(() => this.hidePeerTyping(), TYPING_SHOW_MS) : null;
      this.typingEl.hidden = !active;
      this.renderPeerTyping();
    }

    hidePeerTyping() {
      this.onPeerTyping(false);
    }

    renderPeerTyping() {
      this.typingEl.textContent = t(this.peerRole === 'agent' ? 'typingAgent' : 'typingCustomer');
    }

    // ---- older history -----------------------------------------------------------

    /** The highest hole between shown seqs (seqs have no gaps on the server). */
    findGap() {
      for (let i = this.seqs.length - 1; i > 0; i--) {
        const missing = this.seqs[i] - this.seqs[i - 1] - 1;
        if (missing > 0) return { before: this.seqs[i], missing };
      }
      return null;
    }

    /**
     * Asks for older messages, one request at a time. Holes in the middle
     * (possible after a reconnect, since history is capped at 200) are filled
     * first; the top of the list is extended only when `wantTop` (the user
     * scrolled up, or the first history said there is more).
     */
    fetchOlder(wantTop) {
      if (!this.ready || this.olderInFlight) return;
      const gap = this.gapStuck ? null : this.findGap();
      if (gap) {
        const limit = Math.min(GAP_PAGE_MAX, gap.missing);
        if (this.sendFrame({ type: 'history_before', before: gap.before, limit })) {
          this.olderInFlight = { kind: 'gap', before: gap.before };
        }
        this.renderOlder();
        return;
      }
      if (!wantTop || this.olderExhausted || !this.seqs.length) return;
      if (this.lowestShown() <= 1) {
        this.olderExhausted = true;
        this.renderOlder();
        return;
      }
      const before = this.lowestShown();
      if (this.sendFrame({ type: 'history_before', before, limit: OLDER_PAGE })) {
        this.olderInFlight = { kind: 'top', before };
      }
      this.renderOlder();
    }

    onOlderPage(msgs, hasMore) {
      const req = this.olderInFlight;
      this.olderInFlight = null;
      const before = this.seqs.length;
      this.withStableScroll(() => msgs.forEach((m) => this.acceptMessage(m, true)));
      const added = this.seqs.length - before;
      if (req.kind === 'top' && (!hasMore || added === 0)) this.olderExhausted = true;
      if (req.kind === 'gap' && added === 0) this.gapStuck = true; // avoid a request loop
      if (this.lowestShown() === 1) this.olderExhausted = true;
      this.renderOlder();
      // Keep going while a hole remains or the list cannot scroll yet (no
      // scroll-to-top event would ever come).
      this.fetchOlder(this.list.scrollHeight <= this.list.clientHeight);
    }

    renderOlder() {
      let state;
      if (this.olderInFlight) state = 'loading';
      else if (!this.seqs.length) state = this.ready && !this.list.querySelector('.msg') ? 'empty' : 'idle';
      else if (this.olderExhausted) state = 'done';
      else state = 'more';
      this.olderBox.dataset.state = state;
      this.olderButton.hidden = state !== 'more';
      this.olderButton.disabled = !this.ready;
      const key = { loading: 'loadingOlder', done: 'beginning', empty: 'noMessages' }[state];
      this.olderText.textContent = key ? t(key) : '';
      this.olderText.hidden = !key;
    }

    // ---- outbox (pending messages) -------------------------------------------

    /** sessionStorage survives a reload of this tab; failures are harmless. */
    saveOutbox() {
      try {
        const data = this.outbox.map((e) => ({ id: e.id, text: e.text }));
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
      if (!Array.isArray(data)) return;
      for (const d of data) {
        if (!d || typeof d.id !== 'string' || typeof d.text !== 'string') continue;
        if (this.outbox.some((e) => e.id === d.id)) continue;
        const entry = { id: d.id, text: d.text, el: null, retryTimer: null, attempts: 0 };
        entry.el = this.createPendingBubble(entry);
        this.list.appendChild(entry.el);
        this.outbox.push(entry);
      }
    }

    dropFromOutbox(entry) {
      const i = this.outbox.indexOf(entry);
      if (i >= 0) this.outbox.splice(i, 1);
      clearTimeout(entry.retryTimer);
      entry.retryTimer = null;
      this.saveOutbox();
    }

    transmit(entry) {
      if (!this.ready) return false; // queued; flushOutbox sends it after reconnect
      return this.sendFrame({ type: 'message', text: entry.text, id: entry.id });
    }

    /** Sends every queued message, oldest first (after welcome + history). */
    flushOutbox() {
      for (const entry of this.outbox) {
        clearTimeout(entry.retryTimer);
        entry.retryTimer = null;
        this.transmit(entry);
      }
    }

    /** The server could not take it for now: resend later, same id. */
    scheduleResend(entry) {
      entry.attempts += 1;
      const base = Math.min(BACKOFF_MAX_MS, RETRY_MIN_MS * 2 ** (entry.attempts - 1));
      const delay = base / 2 + Math.random() * (base / 2);
      clearTimeout(entry.retryTimer);
      entry.retryTimer = setTimeout(() => {
        entry.retryTimer = null;
        if (this.outbox.includes(entry)) this.transmit(entry);
      }, delay);
    }

    markFailed(entry, f) {
      this.dropFromOutbox(entry);
      entry.el.classList.remove('pending');
      entry.el.classList.add('failed');
      // Kept on the bubble so a language switch can word the reason again.
      entry.el.dataset.errorCode = typeof f.code === 'string' ? f.code : '';
      entry.el.dataset.errorMessage = typeof f.message === 'string' ? f.message : '';
      this.labelBubble(entry.el);
    }

    /** Reads the composer, queues the message and sends it if connected. */
    submitInput() {
      const text = normalizeText(this.input.value);
      this.input.focus();
      if (!text.trim()) return;
      if (charCount(text) > this.maxChars) {
        this.updateComposer();
        return;
      }
      const entry = { id: newMessageId(this.role), text, el: null, retryTimer: null, attempts: 0 };
      entry.el = this.createPendingBubble(entry);
      this.outbox.push(entry);
      this.saveOutbox();
      this.list.appendChild(entry.el);
      this.renderOlder();
      this.scrollToBottom(); // the sender always sees their own message
      this.input.value = '';
      this.updateComposer();
      this.stopTyping();
      this.transmit(entry);
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
      this.counter.hidden = n < max * 0.8;
      this.counter.textContent = t('counter', { n, max });
      this.counter.title = over ? t('tooLong', { n, max }) : '';
      this.counter.classList.toggle('over', over);
      this.sendButton.disabled = over;
      this.input.setAttribute('aria-invalid', over ? 'true' : 'false');
      this.autoGrow();
    }

    onInputKeydown(e) {
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
      if (this.replaced) this.setStatus('offline', 'disconnected');
      else if (this.ready) this.setStatus('connected', 'connected');
      else if (this.networkDown || navigator.onLine === false) this.setStatus('offline', 'offline');
      else this.setStatus('reconnecting', this.everConnected ? 'reconnecting' : 'connecting');
      this.presenceEl.dataset.stale = this.ready ? 'false' : 'true';
      this.replacedBanner.hidden = !this.replaced;
      this.olderButton.disabled = !this.ready;
      this.renderConvStatus();
    }

    renderPresence() {
      const online = Boolean(this.peerOnline);
      this.presenceEl.dataset.online = online ? 'true' : 'false';
      this.presenceEl.textContent = t(this.peerRole + (online ? 'Online' : 'Offline'));
    }

    /** The status badge and Resolve button (agents), the note (customers). */
    renderConvStatus() {
      const resolved = this.convStatus === 'resolved';
      if (this.convStatusEl) {
        this.convStatusEl.dataset.status = this.convStatus;
        this.convStatusEl.textContent = t(resolved ? 'statusResolved' : 'statusOpen');
      }
      // Nothing to resolve before the first message (the server refuses).
      if (this.resolveButton) this.resolveButton.disabled = resolved || !this.ready || !this.highestSeen();
      if (this.resolvedNote) this.resolvedNote.hidden = !resolved;
    }

    setConvStatus(status) {
      if (status !== 'open' && status !== 'resolved') return;
      this.convStatus = status;
      this.renderConvStatus();
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

    connect() {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      if (this.ws || this.replaced || this.destroyed) return;
      if (this.networkDown) {
        this.renderStatus(); // wait for the `online` event
        return;
      }
      this.socketSince = this.highestSeen();
      const params = new URLSearchParams(this.params);
      params.set('since', String(this.socketSince));
      const path = '/ws/' + this.role + '/' + encodeURIComponent(this.clientId);
      let sock;
      try {
        sock = new WebSocket(socketUrl(path, params));
      } catch (e) {
        this.scheduleReconnect();
        return;
      }
      this.ws = sock;
      sock.onmessage = (ev) => {
        if (sock === this.ws) this.onFrame(ev.data);
      };
      sock.onclose = (ev) => {
        if (sock === this.ws) this.onClose(ev);
      };
      this.renderStatus();
    }

    /** What every socket loss resets: nothing is in flight any more. */
    resetSocketState() {
      this.ws = null;
      this.ready = false;
      this.awaitingHistory = false;
      this.olderInFlight = null;
      this.typingActive = false;
      this.typingSentAt = 0;
      this.hidePeerTyping();
    }

    /** Stops using the current socket without treating it as a failure. */
    dropSocket() {
      const sock = this.ws;
      this.resetSocketState();
      if (sock) {
        try {
          sock.close(1000);
        } catch (e) {
          // already closing
        }
      }
    }

    onClose(ev) {
      this.resetSocketState();
      this.gapStuck = false;
      if (ev.code === 4001) this.replaced = true; // newest tab wins: do not fight it
      this.renderStatus();
      this.renderOlder();
      if (!this.replaced) this.scheduleReconnect();
    }

    /** Exponential backoff with jitter, so many clients do not reconnect in step. */
    scheduleReconnect() {
      if (this.reconnectTimer || this.replaced || this.destroyed) return;
      const delay = this.backoffMs / 2 + Math.random() * (this.backoffMs / 2);
      this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
      this.renderStatus();
    }

    reconnectNow() {
      this.dropSocket();
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.backoffMs = BACKOFF_MIN_MS;
      this.connect();
    }

    onFrame(data) {
      let f;
      try {
        f = JSON.parse(data);
      } catch (e) {
        return;
      }
      if (!f || typeof f !== 'object') return;
      switch (f.type) {
        case 'welcome': this.onWelcome(f); break;
        case 'history': this.onHistory(f); break;
        case 'message': this.onLiveMessage(f); break;
        case 'presence': this.onPresence(f); break;
        case 'typing': if (f.role === this.peerRole) this.onPeerTyping(Boolean(f.active)); break;
        case 'read': if (f.role === this.peerRole) this.onPeerRead(f.seq); break;
        case 'status': this.setConvStatus(f.status); break;
        case 'error': this.onError(f); break;
        case 'replaced': this.replaced = true; break; // close 4001 follows
        default: break; // newer server features: ignore
      }
    }

    onWelcome(f) {
      const last = Number.isSafeInteger(f.last_seq) ? f.last_seq : 0;
      if (last < this.highestSeen()) {
        // The server lost history we have shown (e.g. a restored database):
        // what we show may be stale, so start over from scratch.
        this.clearStored();
        this.readSent = 0;
        this.renderOlder();
        this.showNotice(t('historyReset'));
        this.reconnectNow(); // highestSeen() is 0 now, so since=0
        return;
      }
      if (Number.isSafeInteger(f.max_text_chars) && f.max_text_chars > 0) this.maxChars = f.max_text_chars;
      this.updateComposer();
      this.peerOnline = Boolean(f.peer_online);
      this.renderPresence();
      if (Number.isSafeInteger(f.read_seq)) this.readSent = Math.max(this.readSent, f.read_seq);
      // The server's word, even if lower: it is what the peer has stored.
      if (Number.isSafeInteger(f.peer_read_seq)) this.peerReadSeq = f.peer_read_seq;
      this.setConvStatus(f.status);
      this.awaitingHistory = true;
      this.backoffMs = BACKOFF_MIN_MS;
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
      if (this.socketSince === 0 && !hasMore) this.olderExhausted = true;
      this.ready = true;
      this.everConnected = true;
      this.renderStatus();
      this.flushOutbox();
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
      this.scheduleRead();
    }

    onPresence(f) {
      if (f.role !== this.peerRole) return;
      this.peerOnline = Boolean(f.online);
      this.renderPresence();
      if (!this.peerOnline) this.hidePeerTyping();
    }

    onError(f) {
      const entry = typeof f.id === 'string' ? this.outbox.find((e) => e.id === f.id) : undefined;
      if (entry) {
        if (RETRYABLE.has(f.code)) this.scheduleResend(entry); // stays pending
        else this.markFailed(entry, f);
        return;
      }
      if (!f.id && this.olderInFlight) {
        // history_before is our one request answered by a frame: an error
        // without an id is likely about it, so try again later.
        this.olderInFlight = null;
        clearTimeout(this.olderRetryTimer);
        this.olderRetryTimer = setTimeout(() => this.fetchOlder(this.list.scrollTop < NEAR_TOP_PX), 3000);
        this.renderOlder();
      }
      this.showNotice(this.errorText(f.code, f.message));
    }
  }

  ChatView.el = el;
  ChatView.pageParams = pageParams;
  ChatView.socketUrl = socketUrl;
  window.ChatView = ChatView;

  // The chat page: one view for the whole page, with the language switcher
  // (static in the page, so it works before the view exists) in its header.
  const page = document.getElementById('chat-root');
  if (page) {
    const body = document.body;
    const langBox = document.getElementById('lang-box');
    window.chatView = new ChatView(page, {
      role: body.dataset.role,
      clientId: body.dataset.clientId,
      ownsPage: true,
      trailing: langBox ? [langBox] : [],
    });
  }
})();
