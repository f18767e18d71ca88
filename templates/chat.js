// support-chat browser client: one script for both the customer page
// (/chat/client/{id}) and the agent page (/chat/server/{id}).
// Speaks wire protocol v1 (PROTOCOL.md). No frameworks, no build step, and
// no innerHTML with dynamic values: every user-provided string goes in
// through textContent.
'use strict';

// Every UI string, keyed by language. Add `zh: { ... }` with the same keys
// to translate; missing keys fall back to English.
const STRINGS = {
  en: {
    titleCustomer: 'Support chat',
    titleAgent: 'Conversation {id} — Agent',
    conversation: 'Conversation {id}',
    me: 'Me',
    agent: 'Agent',
    customer: 'Customer',
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Reconnecting…',
    offline: 'Offline',
    disconnected: 'Disconnected',
    agentOnline: 'Agent online',
    agentOffline: 'Agent offline',
    customerOnline: 'Customer online',
    customerOffline: 'Customer offline',
    replaced: 'This conversation was opened in another tab',
    reconnectHere: 'Reconnect here',
    loadOlder: 'Load older messages',
    loadingOlder: 'Loading older messages…',
    beginning: 'Beginning of conversation',
    noMessages: 'No messages yet',
    sending: 'Sending…',
    failed: 'Not sent: {reason}',
    inputLabel: 'Message',
    placeholder: 'Type a message…',
    send: 'Send',
    counter: '{n} / {max}',
    tooLong: 'Message is too long ({n} / {max} characters)',
    historyReset: 'The conversation history was reloaded from the server.',
    unreadTitle: '({n}) {title}',
    // Error codes from the server (PROTOCOL.md); unknown codes show the
    // server's own message.
    error_empty_text: 'The message is empty.',
    error_text_too_long: 'The message is longer than {max} characters.',
    error_invalid_message_id: 'The message id was refused.',
    error_store_unavailable: 'The server could not save right now; retrying…',
    error_shutting_down: 'The server is restarting; retrying…',
    error_rate_limited: 'Too many messages at once; retrying…',
    error_forbidden: 'That is not allowed here.',
    error_generic: 'Something went wrong.',
  },
};

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
  // Errors after which the same message is resent later (not a failure).
  const RETRYABLE = new Set(['store_unavailable', 'shutting_down', 'rate_limited']);

  // ---- page identity -------------------------------------------------------

  const body = document.body;
  const role = body.dataset.role === 'agent' ? 'agent' : 'customer';
  const peerRole = role === 'agent' ? 'customer' : 'agent';
  const clientId = body.dataset.clientId || '';
  const lang = document.documentElement.lang in STRINGS ? document.documentElement.lang : 'en';
  const OUTBOX_KEY = 'support-chat:outbox:v1:' + role + ':' + clientId;

  /** Looks up a UI string and fills `{name}` placeholders from `vars`. */
  function t(key, vars) {
    const table = STRINGS[lang] || STRINGS.en;
    let s = key in table ? table[key] : STRINGS.en[key];
    if (s === undefined) s = key;
    if (!vars) return s;
    return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }

  // ---- DOM -----------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const list = $('messages');
  const olderBox = $('older');
  const olderButton = $('load-older');
  const olderText = $('older-text');
  const input = $('input');
  const sendButton = $('send');
  const form = $('composer');
  const counter = $('counter');
  const statusEl = $('status');
  const presenceEl = $('presence');
  const noticeEl = $('notice');
  const replacedBanner = $('replaced');
  const reconnectHere = $('reconnect-here');

  // ---- state ---------------------------------------------------------------

  const seqEls = new Map(); // seq -> bubble element, for stored messages
  const seqs = []; // seqs shown, ascending (kept in step with seqEls)
  const outbox = []; // {id, text, el, retryTimer, attempts}: not yet acknowledged

  let ws = null; // the current socket; frames from older sockets are ignored
  let socketSince = 0; // `since` the current socket was opened with
  let awaitingHistory = false; // welcome seen, first history not yet
  let ready = false; // welcome + first history received: safe to send
  let everConnected = false;
  let replaced = false; // a newer tab took over (close 4001): no auto-reconnect
  let networkDown = false; // an `offline` event fired and no `online` since
  let backoffMs = BACKOFF_MIN_MS;
  let reconnectTimer = null;

  let maxChars = DEFAULT_MAX_CHARS;
  let olderExhausted = false; // the first message of the conversation is shown
  let olderInFlight = null; // {kind: 'top'|'gap', before} of the one request allowed
  let olderRetryTimer = null;
  let gapStuck = false; // a gap request brought nothing: stop until reconnect
  let noticeTimer = null;
  let unread = 0;
  let pinnedToBottom = true; // the reader follows the newest message
  let baseTitle = document.title;

  // ---- small helpers -------------------------------------------------------

  function highestSeen() {
    return seqs.length ? seqs[seqs.length - 1] : 0;
  }

  function lowestShown() {
    return seqs.length ? seqs[0] : 0;
  }

  /** Index where `seq` belongs in the ascending `seqs` array. */
  function seqIndex(seq) {
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Characters as the server counts them (Unicode scalar values). */
  function charCount(text) {
    return Array.from(text).length; // code points, not UTF-16 units
  }

  /** A client message id: unique enough to make resends idempotent. */
  function newMessageId() {
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

  /** Local time for today's messages, date and time for older ones. */
  function formatTime(ts) {
    const d = new Date(ts);
    if (Number.isNaN(d.getTime())) return '';
    const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    if (d.toDateString() === new Date().toDateString()) return time;
    return d.toLocaleDateString() + ' ' + time;
  }

  /** Drops leading blank lines and trailing whitespace; keeps indentation. */
  function normalizeText(text) {
    return text.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/\s+$/, '');
  }

  // ---- scrolling -----------------------------------------------------------

  function isNearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    list.scrollTop = list.scrollHeight;
    pinnedToBottom = true;
  }

  /**
   * The list shrinks when the mobile keyboard opens or the textarea grows;
   * a reader who was at the bottom must stay there.
   */
  function watchListSize() {
    if (typeof ResizeObserver !== 'function') return;
    new ResizeObserver(() => {
      if (pinnedToBottom) list.scrollTop = list.scrollHeight;
    }).observe(list);
  }

  function firstVisibleBubble() {
    const top = list.getBoundingClientRect().top;
    for (const el of list.querySelectorAll('.msg')) {
      if (el.getBoundingClientRect().bottom > top) return el;
    }
    return null;
  }

  /**
   * Runs `mutate` (which adds or removes bubbles) without making the view
   * jump: a reader at the bottom stays at the bottom (new messages scroll
   * in); anyone else keeps the bubble they were looking at in place, so
   * prepending older history does not move the text under their eyes.
   */
  function withStableScroll(mutate) {
    const stick = isNearBottom();
    const anchor = stick ? null : firstVisibleBubble();
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    mutate();
    if (stick) {
      scrollToBottom();
    } else if (anchor && anchor.isConnected) {
      list.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    }
  }

  // ---- bubbles -------------------------------------------------------------

  /** An empty bubble skeleton: meta line (sender, time/state) and text. */
  function createBubble(from) {
    const el = document.createElement('div');
    el.className = 'msg ' + (from === role ? 'mine' : 'theirs');
    el.dataset.from = from;
    const meta = document.createElement('div');
    meta.className = 'meta';
    const sender = document.createElement('span');
    sender.className = 'sender';
    sender.textContent = from === role ? t('me') : t(from);
    const time = document.createElement('time');
    time.className = 'time';
    meta.append(sender, time);
    const text = document.createElement('div');
    text.className = 'text';
    el.append(meta, text);
    return el;
  }

  function bubblePart(el, cls) {
    return el.querySelector(':scope > .meta > .' + cls) || el.querySelector(':scope > .' + cls);
  }

  /** Fills a bubble with a stored message (also turns a pending one real). */
  function fillStored(el, m) {
    el.classList.remove('pending', 'failed');
    el.dataset.seq = String(m.seq);
    if (typeof m.id === 'string') el.dataset.id = m.id;
    el.querySelector(':scope > .text').textContent = m.text;
    const time = bubblePart(el, 'time');
    time.textContent = formatTime(m.ts);
    time.dateTime = typeof m.ts === 'string' ? m.ts : '';
    time.title = Number.isNaN(new Date(m.ts).getTime()) ? '' : new Date(m.ts).toLocaleString();
  }

  function createPendingBubble(entry) {
    const el = createBubble(role);
    el.classList.add('pending');
    el.dataset.id = entry.id;
    el.querySelector(':scope > .text').textContent = entry.text;
    bubblePart(el, 'time').textContent = t('sending');
    return el;
  }

  /**
   * Puts a stored bubble at its seq position. Pending bubbles always stay
   * below every stored message, in the order they were written.
   */
  function insertStored(el, seq) {
    const i = seqIndex(seq);
    const next = i < seqs.length ? seqEls.get(seqs[i]) : list.querySelector('.msg.pending');
    list.insertBefore(el, next || null);
    seqs.splice(i, 0, seq);
    seqEls.set(seq, el);
  }

  /** Removes every stored (and failed) bubble; pending ones stay. */
  function clearStored() {
    for (const el of list.querySelectorAll('.msg:not(.pending)')) el.remove();
    seqEls.clear();
    seqs.length = 0;
    olderExhausted = false;
    olderInFlight = null;
    gapStuck = false;
  }

  /**
   * Shows one stored message (live, from history, or an acknowledgement).
   * `olderPage` is true for messages fetched with history_before.
   */
  function acceptMessage(m, olderPage) {
    if (!m || !Number.isSafeInteger(m.seq) || m.seq < 1 || typeof m.text !== 'string') return;
    if (m.from !== 'agent' && m.from !== 'customer') return;

    // Our own message coming back is the acknowledgement of a pending one.
    const entry = m.from === role && typeof m.id === 'string'
      ? outbox.find((e) => e.id === m.id)
      : undefined;
    if (entry) dropFromOutbox(entry);

    if (seqEls.has(m.seq)) {
      if (entry) entry.el.remove(); // already shown: never twice
      return;
    }
    // A resent message acknowledged far below what is loaded: it shows up
    // when the user scrolls back; inserting it now would open a huge gap.
    if (!olderPage && seqs.length && m.seq < lowestShown() && !olderExhausted) {
      if (entry) entry.el.remove();
      return;
    }
    let el;
    if (entry) {
      el = entry.el; // the pending bubble becomes the real message
      el.remove();
    } else {
      el = createBubble(m.from);
    }
    fillStored(el, m);
    insertStored(el, m.seq);
    if (m.seq === 1) olderExhausted = true;
    if (!olderPage && m.from !== role && document.hidden) bumpUnread();
  }

  // ---- older history -------------------------------------------------------

  /** The highest hole between shown seqs (seqs have no gaps on the server). */
  function findGap() {
    for (let i = seqs.length - 1; i > 0; i--) {
      const missing = seqs[i] - seqs[i - 1] - 1;
      if (missing > 0) return { before: seqs[i], missing };
    }
    return null;
  }

  function sendFrame(obj) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify(obj));
      return true;
    } catch (e) {
      return false;
    }
  }

  /**
   * Asks for older messages, one request at a time. Holes in the middle
   * (possible after a reconnect, since history is capped at 200) are filled
   * first; the top of the list is extended only when `wantTop` (the user
   * scrolled up, or the first history said there is more).
   */
  function fetchOlder(wantTop) {
    if (!ready || olderInFlight) return;
    const gap = gapStuck ? null : findGap();
    if (gap) {
      const limit = Math.min(GAP_PAGE_MAX, gap.missing);
      if (sendFrame({ type: 'history_before', before: gap.before, limit })) {
        olderInFlight = { kind: 'gap', before: gap.before };
      }
      renderOlder();
      return;
    }
    if (!wantTop || olderExhausted || !seqs.length) return;
    if (lowestShown() <= 1) {
      olderExhausted = true;
      renderOlder();
      return;
    }
    const before = lowestShown();
    if (sendFrame({ type: 'history_before', before, limit: OLDER_PAGE })) {
      olderInFlight = { kind: 'top', before };
    }
    renderOlder();
  }

  function onOlderPage(msgs, hasMore) {
    const req = olderInFlight;
    olderInFlight = null;
    const before = seqs.length;
    withStableScroll(() => msgs.forEach((m) => acceptMessage(m, true)));
    const added = seqs.length - before;
    if (req.kind === 'top' && (!hasMore || added === 0)) olderExhausted = true;
    if (req.kind === 'gap' && added === 0) gapStuck = true; // avoid a request loop
    if (lowestShown() === 1) olderExhausted = true;
    renderOlder();
    // Keep going while a hole remains or the list cannot scroll yet (no
    // scroll-to-top event would ever come).
    fetchOlder(list.scrollHeight <= list.clientHeight);
  }

  function renderOlder() {
    let state;
    if (olderInFlight) state = 'loading';
    else if (!seqs.length) state = ready && !list.querySelector('.msg') ? 'empty' : 'idle';
    else if (olderExhausted) state = 'done';
    else state = 'more';
    olderBox.dataset.state = state;
    olderButton.hidden = state !== 'more';
    olderButton.disabled = !ready;
    const text = { loading: t('loadingOlder'), done: t('beginning'), empty: t('noMessages') }[state];
    olderText.textContent = text || '';
    olderText.hidden = !text;
  }

  function onListScroll() {
    pinnedToBottom = isNearBottom();
    if (list.scrollTop < NEAR_TOP_PX) fetchOlder(true);
    if (isNearBottom()) clearUnread();
  }

  // ---- outbox (pending messages) ---------------------------------------------

  /** sessionStorage survives a reload of this tab; failures are harmless. */
  function saveOutbox() {
    try {
      const data = outbox.map((e) => ({ id: e.id, text: e.text }));
      if (data.length) sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(data));
      else sessionStorage.removeItem(OUTBOX_KEY);
    } catch (e) {
      // Storage disabled or full: the queue still works for this page view.
    }
  }

  function loadOutbox() {
    let data = [];
    try {
      data = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || '[]');
    } catch (e) {
      data = [];
    }
    if (!Array.isArray(data)) return;
    for (const d of data) {
      if (!d || typeof d.id !== 'string' || typeof d.text !== 'string') continue;
      if (outbox.some((e) => e.id === d.id)) continue;
      const entry = { id: d.id, text: d.text, el: null, retryTimer: null, attempts: 0 };
      entry.el = createPendingBubble(entry);
      list.appendChild(entry.el);
      outbox.push(entry);
    }
  }

  function dropFromOutbox(entry) {
    const i = outbox.indexOf(entry);
    if (i >= 0) outbox.splice(i, 1);
    clearTimeout(entry.retryTimer);
    entry.retryTimer = null;
    saveOutbox();
  }

  function transmit(entry) {
    if (!ready) return false; // queued; flushOutbox sends it after reconnect
    return sendFrame({ type: 'message', text: entry.text, id: entry.id });
  }

  /** Sends every queued message, oldest first (after welcome + history). */
  function flushOutbox() {
    for (const entry of outbox) {
      clearTimeout(entry.retryTimer);
      entry.retryTimer = null;
      transmit(entry);
    }
  }

  /** The server could not take it for now: resend later, same id. */
  function scheduleResend(entry) {
    entry.attempts += 1;
    const base = Math.min(BACKOFF_MAX_MS, RETRY_MIN_MS * 2 ** (entry.attempts - 1));
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(entry.retryTimer);
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = null;
      if (outbox.includes(entry)) transmit(entry);
    }, delay);
  }

  function markFailed(entry, reason) {
    dropFromOutbox(entry);
    entry.el.classList.remove('pending');
    entry.el.classList.add('failed');
    bubblePart(entry.el, 'time').textContent = t('failed', { reason });
  }

  /** Reads the composer, queues the message and sends it if connected. */
  function submitInput() {
    const text = normalizeText(input.value);
    input.focus();
    if (!text.trim()) return;
    if (charCount(text) > maxChars) {
      updateComposer();
      return;
    }
    const entry = { id: newMessageId(), text, el: null, retryTimer: null, attempts: 0 };
    entry.el = createPendingBubble(entry);
    outbox.push(entry);
    saveOutbox();
    list.appendChild(entry.el);
    renderOlder();
    scrollToBottom(); // the sender always sees their own message
    input.value = '';
    updateComposer();
    transmit(entry);
  }

  // ---- composer --------------------------------------------------------------

  /** Grows the textarea with its content (CSS caps the height). */
  function autoGrow() {
    input.style.height = 'auto';
    input.style.height = input.scrollHeight + 'px';
  }

  function updateComposer() {
    const n = charCount(normalizeText(input.value));
    const over = n > maxChars;
    counter.hidden = n < maxChars * 0.8;
    counter.textContent = t('counter', { n, max: maxChars });
    counter.title = over ? t('tooLong', { n, max: maxChars }) : '';
    counter.classList.toggle('over', over);
    sendButton.disabled = over;
    input.setAttribute('aria-invalid', over ? 'true' : 'false');
    autoGrow();
  }

  function onInputKeydown(e) {
    // Enter sends, Shift+Enter is a newline; never send mid-composition
    // (Chinese/Japanese IMEs use Enter to confirm a candidate).
    if (e.key !== 'Enter' || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    submitInput();
  }

  // ---- status, presence, notices ------------------------------------------

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
    body.dataset.connection = state;
  }

  function renderStatus() {
    if (replaced) setStatus('offline', t('disconnected'));
    else if (ready) setStatus('connected', t('connected'));
    else if (networkDown || navigator.onLine === false) setStatus('offline', t('offline'));
    else setStatus('reconnecting', everConnected ? t('reconnecting') : t('connecting'));
    presenceEl.dataset.stale = ready ? 'false' : 'true';
    replacedBanner.hidden = !replaced;
    olderButton.disabled = !ready;
  }

  function setPresence(online) {
    presenceEl.dataset.online = online ? 'true' : 'false';
    presenceEl.textContent = t(peerRole + (online ? 'Online' : 'Offline'));
  }

  function showNotice(text) {
    noticeEl.textContent = text;
    noticeEl.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      noticeEl.hidden = true;
    }, NOTICE_MS);
  }

  function errorText(f) {
    const code = typeof f.code === 'string' ? f.code : '';
    const key = 'error_' + code;
    if (code && key in (STRINGS[lang] || STRINGS.en)) return t(key, { max: maxChars });
    return typeof f.message === 'string' && f.message ? f.message : t('error_generic');
  }

  function bumpUnread() {
    unread += 1;
    document.title = t('unreadTitle', { n: unread, title: baseTitle });
  }

  function clearUnread() {
    if (!unread) return;
    unread = 0;
    document.title = baseTitle;
  }

  // ---- socket --------------------------------------------------------------

  /** Same host and scheme as the page; page query params (sig, token) ride along. */
  function socketUrl(since) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const params = new URLSearchParams(location.search);
    params.set('since', String(since));
    return scheme + '//' + location.host + '/ws/' + (role === 'agent' ? 'agent' : 'customer') +
      '/' + encodeURIComponent(clientId) + '?' + params.toString();
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (ws || replaced) return;
    if (networkDown) {
      renderStatus(); // wait for the `online` event
      return;
    }
    socketSince = highestSeen();
    let sock;
    try {
      sock = new WebSocket(socketUrl(socketSince));
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.onmessage = (ev) => {
      if (sock === ws) onFrame(ev.data);
    };
    sock.onclose = (ev) => {
      if (sock === ws) onClose(ev);
    };
    renderStatus();
  }

  /** Stops using the current socket without treating it as a failure. */
  function dropSocket() {
    const sock = ws;
    ws = null;
    ready = false;
    awaitingHistory = false;
    olderInFlight = null;
    if (sock) {
      try {
        sock.close(1000);
      } catch (e) {
        // already closing
      }
    }
  }

  function onClose(ev) {
    ws = null;
    ready = false;
    awaitingHistory = false;
    olderInFlight = null;
    gapStuck = false;
    if (ev.code === 4001) replaced = true; // newest tab wins: do not fight it
    renderStatus();
    renderOlder();
    if (!replaced) scheduleReconnect();
  }

  /** Exponential backoff with jitter, so many clients do not reconnect in step. */
  function scheduleReconnect() {
    if (reconnectTimer || replaced) return;
    const delay = backoffMs / 2 + Math.random() * (backoffMs / 2);
    backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
    reconnectTimer = setTimeout(connect, delay);
    renderStatus();
  }

  function reconnectNow() {
    dropSocket();
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    backoffMs = BACKOFF_MIN_MS;
    connect();
  }

  function onFrame(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!f || typeof f !== 'object') return;
    switch (f.type) {
      case 'welcome': onWelcome(f); break;
      case 'history': onHistory(f); break;
      case 'message': onLiveMessage(f); break;
      case 'presence': onPresence(f); break;
      case 'error': onError(f); break;
      case 'replaced': replaced = true; break; // close 4001 follows
      default: break; // newer server features: ignore
    }
  }

  function onWelcome(f) {
    const last = Number.isSafeInteger(f.last_seq) ? f.last_seq : 0;
    if (last < highestSeen()) {
      // The server lost history we have shown (e.g. a restored database):
      // what we show may be stale, so start over from scratch.
      clearStored();
      renderOlder();
      showNotice(t('historyReset'));
      reconnectNow(); // highestSeen() is 0 now, so since=0
      return;
    }
    if (Number.isSafeInteger(f.max_text_chars) && f.max_text_chars > 0) maxChars = f.max_text_chars;
    updateComposer();
    setPresence(Boolean(f.peer_online));
    awaitingHistory = true;
    backoffMs = BACKOFF_MIN_MS;
  }

  function onHistory(f) {
    const msgs = Array.isArray(f.messages) ? f.messages : [];
    const hasMore = Boolean(f.has_more);
    if (!awaitingHistory) {
      if (olderInFlight) onOlderPage(msgs, hasMore);
      return;
    }
    awaitingHistory = false;
    withStableScroll(() => msgs.forEach((m) => acceptMessage(m, false)));
    // A load from scratch knows whether anything older exists; a resume
    // (since > 0) keeps what it knew about the top of the list.
    if (socketSince === 0 && !hasMore) olderExhausted = true;
    ready = true;
    everConnected = true;
    renderStatus();
    flushOutbox();
    renderOlder();
    fetchOlder(socketSince === 0 && hasMore);
  }

  function onLiveMessage(f) {
    withStableScroll(() => acceptMessage(f, false));
    renderOlder();
  }

  function onPresence(f) {
    if (f.role === peerRole) setPresence(Boolean(f.online));
  }

  function onError(f) {
    const entry = typeof f.id === 'string' ? outbox.find((e) => e.id === f.id) : undefined;
    if (entry) {
      if (RETRYABLE.has(f.code)) scheduleResend(entry); // stays pending
      else markFailed(entry, errorText(f));
      return;
    }
    if (!f.id && olderInFlight) {
      // Our only frame without an id is history_before: try again later.
      olderInFlight = null;
      clearTimeout(olderRetryTimer);
      olderRetryTimer = setTimeout(() => fetchOlder(list.scrollTop < NEAR_TOP_PX), 3000);
      renderOlder();
    }
    showNotice(errorText(f));
  }

  // ---- wiring --------------------------------------------------------------

  function applyStaticStrings() {
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    }
    baseTitle = role === 'agent' ? t('titleAgent', { id: clientId }) : t('titleCustomer');
    document.title = baseTitle;
    $('title').textContent = baseTitle;
    $('conversation').textContent = t('conversation', { id: clientId });
    presenceEl.textContent = t(peerRole + 'Offline');
    presenceEl.dataset.stale = 'true';
  }

  function init() {
    applyStaticStrings();
    loadOutbox();
    updateComposer();
    renderOlder();
    renderStatus();

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submitInput();
    });
    input.addEventListener('keydown', onInputKeydown);
    input.addEventListener('input', updateComposer);
    list.addEventListener('scroll', onListScroll, { passive: true });
    olderButton.addEventListener('click', () => fetchOlder(true));
    reconnectHere.addEventListener('click', () => {
      replaced = false;
      reconnectNow(); // this tab becomes the newest one
      input.focus();
    });

    window.addEventListener('offline', () => {
      // The socket may linger half-dead for minutes: drop it now.
      networkDown = true;
      dropSocket();
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      renderStatus();
    });
    window.addEventListener('online', () => {
      networkDown = false;
      if (!replaced) reconnectNow();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return;
      if (isNearBottom()) clearUnread();
      // Back in front while waiting to retry: do not make the user wait.
      if (!ws && reconnectTimer && !replaced) reconnectNow();
    });
    // Leaving the page closes the socket cleanly (the peer sees "offline"
    // at once); coming back from the back/forward cache reconnects.
    window.addEventListener('pagehide', () => {
      dropSocket();
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
    });
    window.addEventListener('pageshow', (e) => {
      if (e.persisted && !replaced) reconnectNow();
    });

    watchListSize();
    scrollToBottom();
    input.focus();
    connect();
  }

  init();
})();
