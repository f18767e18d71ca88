// support-chat agent console (/agent): the live list of conversations on
// the left, fed by the inbox socket (/ws/inbox, PROTOCOL.md), and the open
// conversation on the right as a ChatView (chat-view.js), swapped without a
// reload. The open conversation is in the address: /agent#<client id>.
// Alerts: unread total in the tab title and the favicon, an optional beep
// and desktop notifications for customer messages.
import { I18N } from './i18n.mjs';
import { compare, matches, previewOf, whoOf } from './inbox.mjs';
import { ReconnectingSocket, credentialsProbe } from './socket.mjs';
import { ChatView } from './chat-view.js';
import { AssignedAlerts, AvailabilityBox, ViewTabs } from './console-routing.js';
import { labelChip } from './label-control.js';
import { MessageSearch } from './console-search.js';
import { el, pageParams, socketUrl, loginHref } from './dom.js';

const PAGE_SIZE = 50;
const LOAD_MORE_PX = 200; // this close to the list's end: fetch the next page
const SEARCH_DEBOUNCE_MS = 300;
const LIST_RETRY_MS = 2000; // after the server refused a list request
const CLOCK_TICK_MS = 30000; // relative times ("5 minutes ago") refresh
const FRESH_MS = 15000; // a never-seen conversation this recent is news
const NARROW = window.matchMedia('(max-width: 700px)'); // list or chat, not both
const VALID_ID = /^[A-Za-z0-9_-]{1,64}$/; // the server's client id rule
const SOUND_KEY = 'support-chat:console:sound';
const NOTIFY_KEY = 'support-chat:console:notify';

const t = (key, vars) => I18N.t(key, vars);
const $ = (id) => document.getElementById(id);

const consoleEl = $('console');
const listEl = $('conv-list');
const listState = $('list-state');
const pane = $('chat-pane');
const emptyPane = $('chat-empty');
const search = $('search');
const filterButtons = Array.from(document.querySelectorAll('.filter'));
const inboxStatus = $('inbox-status');
const soundButton = $('sound');
const notifyButton = $('notify');
const favicon = $('favicon');
const loggedOut = $('logged-out');
const loginLink = $('login-again');
const backButton = el('button', {
  type: 'button', id: 'back', class: 'back-button', 'data-i18n': 'back', 'data-i18n-title': 'backLabel',
});

// ---- state -------------------------------------------------------------------

// What the list shows; `me` (our agent id) tells which rows are "Mine".
const query = { status: 'open', search: '', view: 'all', me: null, label: null };
const rows = new Map(); // client id -> {summary, el} for every listed row
const lastSeqs = new Map(); // client id -> last_seq, for every summary ever seen
let nextCursor = null; // the next page of the current list, if any
let boundary = null; // the last summary of the last page: where loaded rows end
let pending = null; // {request, append}: the list request awaiting an answer
let requestCounter = 0;
let listed = false; // a first page has arrived: an empty list means empty
let totals = { unread: 0, waiting: 0 };

// The inbox socket; an upgrade refused for credentials means logged out.
const socket = new ReconnectingSocket({
  url: () => socketUrl('/ws/inbox', pageParams()),
  onOpen: () => {
    renderInboxStatus();
    freshList(); // resync: changes while away were not pushed to us
  },
  onFrame,
  onClose: () => {
    pending = null;
    renderInboxStatus();
    renderListState();
  },
  onHalt: showLoggedOut,
  probe: credentialsProbe(pageParams()),
});
let listRetryTimer = null;
let searchTimer = null;

const viewTabs = new ViewTabs($('views'), setView);
const alerts = new AssignedAlerts($('assigned-alerts'), (id) => openFromList(id));
const messageSearch = new MessageSearch($('message-results'), (id) => openFromList(id));
const availability = new AvailabilityBox($('availability'), $('roster'), (frame) => socket.send(frame));

let view = null; // the ChatView of the open conversation
let activeId = null;
let audio = null; // AudioContext, made on a user gesture

function validSummary(s) {
  return s && typeof s.client_id === 'string' && VALID_ID.test(s.client_id);
}

// ---- rows --------------------------------------------------------------------------

function createRow(id) {
  return el('a', { class: 'conv-row', href: '#' + id, 'data-client-id': id }, [
    el('span', { class: 'conv-online', 'data-online': 'false' }),
    el('span', { class: 'conv-main' }, [
      el('span', { class: 'conv-line' }, [
        el('span', { class: 'conv-id', text: id }),
        el('span', { class: 'conv-assignee' }),
        el('time', { class: 'conv-time' }),
      ]),
      el('span', { class: 'conv-labels' }),
      el('span', { class: 'conv-line' }, [
        el('span', { class: 'conv-preview' }),
        el('span', { class: 'conv-status', 'data-status': 'open' }),
        el('span', { class: 'conv-unread', 'data-count': '0', hidden: true }),
      ]),
    ]),
  ]);
}

/** Writes a summary into its row (every text through textContent). */
function fillRow(row, s) {
  const online = Boolean(s.customer_online);
  const part = (cls) => row.querySelector('.' + cls);
  row.classList.toggle('waiting', Boolean(s.waiting));
  row.classList.toggle('active', s.client_id === activeId);
  row.title = s.waiting ? t('rowWaiting') : '';
  part('conv-online').dataset.online = online ? 'true' : 'false';
  part('conv-online').title = t(online ? 'customerOnline' : 'customerOffline');
  part('conv-preview').textContent = previewOf(s, t);
  part('conv-id').textContent = whoOf(s);
  part('conv-id').title = s.client_id;
  const assignee = s.assignee && typeof s.assignee.name === 'string' ? s.assignee : null;
  part('conv-assignee').textContent = assignee
    ? (assignee.id === query.me ? t('me') : assignee.name)
    : t('unassigned');
  part('conv-assignee').dataset.assigned = assignee ? 'true' : 'false';
  part('conv-labels').replaceChildren(...(Array.isArray(s.labels) ? s.labels : []).map((l) => labelChip(l)));
  part('conv-status').dataset.status = s.status === 'resolved' ? 'resolved' : 'open';
  part('conv-status').textContent = t(s.status === 'resolved' ? 'statusResolved' : 'statusOpen');
  const unread = Number.isSafeInteger(s.unread) && s.unread > 0 ? s.unread : 0;
  const badge = part('conv-unread');
  badge.dataset.count = String(unread);
  badge.textContent = unread > 99 ? '99+' : String(unread);
  badge.title = t('rowUnread', { n: unread });
  badge.hidden = unread === 0;
  fillTime(row, s);
}

function fillTime(row, s) {
  const stamp = row.querySelector('.conv-time');
  stamp.dateTime = s.last_activity || '';
  stamp.textContent = I18N.formatRelative(s.last_activity);
  stamp.title = I18N.formatDateTime(s.last_activity);
}

/** Puts (or moves) a row where the order rule says, among the loaded rows. */
function placeRow(entry) {
  let next = null;
  for (const other of listEl.children) {
    if (other === entry.el) continue;
    const summary = rows.get(other.dataset.clientId).summary;
    if (compare(entry.summary, summary) < 0) {
      next = other;
      break;
    }
  }
  // Already in place: moving a node would drop focus and hover for nothing.
  if (!entry.el.isConnected || entry.el.nextElementSibling !== next) listEl.insertBefore(entry.el, next);
}

function removeRow(id) {
  const entry = rows.get(id);
  if (!entry) return;
  entry.el.remove();
  rows.delete(id);
}

function upsertRow(s) {
  let entry = rows.get(s.client_id);
  if (!entry) {
    entry = { summary: s, el: createRow(s.client_id) };
    rows.set(s.client_id, entry);
  }
  entry.summary = s;
  fillRow(entry.el, s);
  placeRow(entry);
}

/**
 * A pushed change. Rows that now sort past the loaded pages are left to
 * the page that will bring them (the server's cursor is the boundary), so
 * the list never shows a row after unloaded ones.
 */
function applySummary(s) {
  const beyond = nextCursor && boundary && compare(s, boundary) > 0;
  if (!matches(query, s) || beyond) removeRow(s.client_id);
  else upsertRow(s);
}

function replaceRows(items) {
  rows.clear();
  listEl.replaceChildren();
  items.forEach(upsertRow);
}

function renderListState() {
  let state = 'idle';
  if (pending || !listed) state = 'loading';
  else if (!rows.size) state = query.search ? 'nomatch' : 'empty';
  listState.dataset.state = state;
  const text = {
    loading: t('listLoading'),
    nomatch: t('listNoMatch', { search: query.search }),
    empty: t('listEmpty'),
  }[state];
  listState.textContent = text || '';
  listState.hidden = !text;
}

function refreshTimes() {
  for (const { summary, el: row } of rows.values()) fillTime(row, summary);
}

// ---- the list protocol -------------------------------------------------------------

/** Asks for the first page (fresh) or the next one; a fresh ask wins. */
function requestList(append) {
  clearTimeout(listRetryTimer);
  listRetryTimer = null;
  if (append && (pending || !nextCursor)) return;
  const request = ++requestCounter;
  const frame = {
    type: 'list',
    status: query.status,
    view: query.view,
    label: query.label,
    cursor: append ? nextCursor : null,
    limit: PAGE_SIZE,
    request,
  };
  if (query.search) frame.search = query.search;
  pending = socket.send(frame) ? { request, append } : null;
  renderListState();
}

function onConversations(f) {
  if (!pending || f.request !== pending.request) return; // an answer to an older ask
  const { append } = pending;
  pending = null;
  listed = true;
  const items = (Array.isArray(f.items) ? f.items : []).filter(validSummary);
  items.forEach(rememberSeq);
  if (append) items.forEach(upsertRow);
  else replaceRows(items);
  nextCursor = typeof f.next_cursor === 'string' ? f.next_cursor : null;
  if (items.length || !append) boundary = items.length ? items[items.length - 1] : null;
  socket.proven(); // the connection works
  if (f.totals) setTotals(f.totals);
  viewTabs.setCounts(f.views);
  renderListState();
  markActive();
  if (!append) revealActive();
  maybeLoadMore();
}

function onConversation(f) {
  const s = f.conversation;
  if (!validSummary(s)) return;
  alertIfNews(s);
  rememberSeq(s);
  applySummary(s);
  renderListState();
}

/** A colleague (or automatic assignment) gave us a conversation. */
function onAssigned(f) {
  if (validSummary(f.conversation)) onConversation({ conversation: f.conversation });
  alerts.show(f);
  beep();
  if (document.hidden && validSummary(f.conversation)) notify(f.conversation);
}

/** A conversation was erased: its row goes (an open view is closed by its socket, 4004). */
function onRemoved(f) {
  if (typeof f.client_id !== 'string') return;
  removeRow(f.client_id);
  renderListState();
}

function onInboxError() {
  // Our only request is `list`: ask again a little later from scratch
  // (a stale cursor is one reason the server refuses).
  if (!pending) return;
  pending = null;
  clearTimeout(listRetryTimer);
  listRetryTimer = setTimeout(() => requestList(false), LIST_RETRY_MS);
  renderListState();
}

/** Fetches the next page when the end of the list is (nearly) in sight. */
function maybeLoadMore() {
  if (!nextCursor || pending) return;
  if (listEl.scrollHeight - listEl.scrollTop - listEl.clientHeight < LOAD_MORE_PX) requestList(true);
}

function freshList() {
  nextCursor = null;
  requestList(false);
}

// ---- the inbox socket -------------------------------------------------------------

/** Credentials refused (the view's socket or ours): one banner for the page. */
function showLoggedOut() {
  loggedOut.hidden = false;
  loginLink.href = loginHref(); // comes back to the conversation open now
  renderInboxStatus();
}

function onFrame(f) {
  switch (f.type) {
    case 'conversations': onConversations(f); break;
    case 'conversation': onConversation(f); break;
    case 'totals': setTotals(f); break;
    case 'views': if (f.status === query.status) viewTabs.setCounts(f.views); break;
    case 'assigned': onAssigned(f); break;
    case 'agents': availability.setRoster(f.agents); break;
    case 'removed': onRemoved(f); break;
    case 'error': onInboxError(); break;
    default: break; // newer server features: ignore
  }
}

function renderInboxStatus() {
  let state = 'reconnecting';
  let key = 'connecting';
  if (socket.open) {
    state = 'connected';
    key = 'connected';
  } else if (socket.halted === 'logged-out') {
    state = 'offline';
    key = 'loggedOutShort';
  } else if (navigator.onLine === false) {
    state = 'offline';
    key = 'offline';
  } else if (socket.waiting) {
    key = 'reconnecting';
  }
  inboxStatus.dataset.state = state;
  inboxStatus.textContent = t(key);
  inboxStatus.title = t(key); // narrow screens show only the dot
}

// ---- totals: title, favicon, header --------------------------------------------------

function setTotals(f) {
  const count = (n) => (Number.isSafeInteger(n) && n > 0 ? n : 0);
  totals = { unread: count(f.unread), waiting: count(f.waiting) };
  renderTotals();
}

function renderTotals() {
  const base = t('consoleTitle');
  document.title = totals.unread ? t('unreadTitle', { n: totals.unread, title: base }) : base;
  for (const [id, n, key] of [['total-unread', totals.unread, 'totalUnread'], ['total-waiting', totals.waiting, 'totalWaiting']]) {
    const chip = $(id);
    chip.dataset.count = String(n);
    chip.textContent = t(key, { n });
    chip.hidden = n === 0;
  }
  drawFavicon(totals.unread);
}

/** The tab icon: a chat bubble, with a red count badge while anything is unread. */
function drawFavicon(count) {
  const size = 64;
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const g = canvas.getContext('2d');
  if (!g) return;
  g.fillStyle = '#2563eb';
  g.beginPath();
  g.arc(30, 30, 26, 0, Math.PI * 2);
  g.fill();
  g.beginPath(); // the bubble's tail
  g.moveTo(14, 46);
  g.lineTo(6, 60);
  g.lineTo(28, 52);
  g.fill();
  if (count > 0) {
    g.fillStyle = '#dc2626';
    g.beginPath();
    g.arc(44, 20, 20, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = '#ffffff';
    g.font = 'bold 26px sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(count > 99 ? '99+' : String(count), 44, 21, 36);
  }
  favicon.href = canvas.toDataURL('image/png');
}

// ---- alerts: sound and desktop notifications --------------------------------------------

function rememberSeq(s) {
  if (Number.isSafeInteger(s.last_seq)) lastSeqs.set(s.client_id, s.last_seq);
}

/**
 * A customer wrote: the last message is theirs and last_seq grew. For a
 * conversation never seen (past the loaded pages, or new) only a recent
 * last activity tells a new message from a presence or read change.
 */
function isNewCustomerMessage(s) {
  if (s.last_from !== 'customer' || !Number.isSafeInteger(s.last_seq)) return false;
  const known = lastSeqs.get(s.client_id);
  if (known !== undefined) return s.last_seq > known;
  return Date.now() - Date.parse(s.last_activity || '') < FRESH_MS;
}

function alertIfNews(s) {
  if (!isNewCustomerMessage(s)) return;
  // The agent is looking right at it: no need to call for attention.
  if (s.client_id === activeId && !document.hidden) return;
  beep();
  if (document.hidden) notify(s);
}

function soundOn() {
  return soundButton.getAttribute('aria-pressed') === 'true';
}

/** Browsers allow audio only after a user gesture: call from one. */
function unlockAudio() {
  if (!soundOn()) return;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!audio && Ctx) audio = new Ctx();
  if (audio && audio.state === 'suspended') audio.resume().catch(() => {});
}

/** A short two-tone chime, synthesized (no audio file to load). */
function beep() {
  if (!soundOn() || !audio || audio.state !== 'running') return;
  const now = audio.currentTime;
  const gain = audio.createGain();
  gain.connect(audio.destination);
  gain.gain.setValueAtTime(0.0001, now);
  gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
  for (const [freq, start] of [[880, 0], [1175, 0.12]]) {
    const osc = audio.createOscillator();
    osc.frequency.value = freq;
    osc.connect(gain);
    osc.start(now + start);
    osc.stop(now + 0.35);
  }
}

function toggleSound() {
  const on = !soundOn();
  soundButton.setAttribute('aria-pressed', on ? 'true' : 'false');
  store(SOUND_KEY, on ? '1' : '0');
  unlockAudio(); // this click is the gesture
  beep(); // let the agent hear what it sounds like
}

function canNotify() {
  return typeof Notification === 'function';
}

function notifyWanted() {
  return canNotify() && Notification.permission === 'granted' && load(NOTIFY_KEY) !== '0';
}

function notify(s) {
  if (!notifyWanted()) return;
  try {
    const note = new Notification(t('notificationTitle', { id: s.client_id }), {
      body: typeof s.preview === 'string' ? s.preview : '',
      tag: 'support-chat:' + s.client_id, // one per conversation, replaced
      icon: favicon.href,
    });
    note.onclick = () => {
      window.focus();
      openFromList(s.client_id);
      note.close();
    };
  } catch (e) {
    // Some mobile browsers allow notifications only from a service worker.
  }
}

/** Asks for permission only here, on the agent's click; then toggles. */
function onNotifyClick() {
  if (Notification.permission === 'granted') {
    store(NOTIFY_KEY, notifyWanted() ? '0' : '1');
    renderNotify();
    return;
  }
  Promise.resolve(Notification.requestPermission()).then(() => {
    store(NOTIFY_KEY, '1');
    renderNotify();
  }, renderNotify);
}

function renderNotify() {
  if (!canNotify()) return; // stays hidden
  const permission = Notification.permission;
  notifyButton.hidden = false;
  notifyButton.disabled = permission === 'denied';
  notifyButton.setAttribute('aria-pressed', notifyWanted() ? 'true' : 'false');
  notifyButton.textContent = t(permission === 'denied' ? 'notifyBlocked' : notifyWanted() ? 'notifyOn' : 'notify');
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch (e) {
    // storage disabled: the setting lasts for this page view
  }
}

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch (e) {
    return null;
  }
}

// ---- the open conversation --------------------------------------------------------------

function idFromHash() {
  let id = '';
  try {
    id = decodeURIComponent(location.hash.slice(1));
  } catch (e) {
    id = '';
  }
  return VALID_ID.test(id) ? id : null;
}

function markActive() {
  for (const row of listEl.children) row.classList.toggle('active', row.dataset.clientId === activeId);
}

/** Scrolls the open conversation's row into sight (after a jump to it). */
function revealActive() {
  const row = activeId ? rows.get(activeId) : null;
  if (row) row.el.scrollIntoView({ block: 'nearest' });
}

/** Shows the conversation in the address (or none), without a reload. */
function route() {
  const id = idFromHash();
  if (id === activeId) return;
  if (view) view.destroy();
  view = null;
  pane.querySelector('.chat-host')?.remove();
  activeId = id;
  markActive();
  revealActive();
  emptyPane.hidden = Boolean(id);
  consoleEl.dataset.view = id ? 'chat' : 'list';
  if (!id) return;
  const host = el('div', { class: 'chat-host' });
  pane.append(host);
  view = new ChatView(host, {
    role: 'agent',
    clientId: id,
    leading: [backButton],
    autofocus: !NARROW.matches, // no keyboard popping up on phones
    onLoggedOut: showLoggedOut,
  });
  if (!loggedOut.hidden) loginLink.href = loginHref();
}

/**
 * Opening from the list: leaving the list adds a history entry (Back
 * returns to it); switching between conversations does not.
 */
function openFromList(id) {
  const url = location.pathname + location.search + '#' + encodeURIComponent(id);
  if (activeId) history.replaceState(history.state, '', url);
  else history.pushState({ fromList: true }, '', url);
  route();
}

function backToList() {
  if (history.state && history.state.fromList) {
    history.back(); // popstate routes
    return;
  }
  history.replaceState(null, '', location.pathname + location.search);
  route();
}

function onListClick(e) {
  const row = e.target.closest('.conv-row');
  // Modified clicks open a new tab or window, as links do.
  if (!row || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  openFromList(row.dataset.clientId);
}

// ---- wiring ------------------------------------------------------------------------------

function setFilter(status) {
  if (status === query.status) return;
  query.status = status;
  for (const button of filterButtons) {
    button.setAttribute('aria-pressed', button.dataset.filter === status ? 'true' : 'false');
  }
  freshList();
}

/** The label filter: the labels admins defined, fetched once per page. */
function loadLabelFilter() {
  const select = $('label-filter');
  fetch('/api/labels', { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : { labels: [] }))
    .then((body) => {
      const labels = Array.isArray(body.labels) ? body.labels : [];
      select.replaceChildren(
        el('option', { value: '', 'data-i18n': 'labelFilterAll', text: t('labelFilterAll') }),
        ...labels.map((l) => el('option', { value: String(l.id), text: l.name })),
      );
      select.hidden = labels.length === 0;
    })
    .catch(() => {});
  select.addEventListener('change', () => {
    query.label = select.value ? Number(select.value) : null;
    freshList();
  });
}

function setView(v) {
  if (v === query.view) return;
  query.view = v;
  viewTabs.select(v);
  freshList();
}

function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    const value = search.value.trim();
    if (value === query.search) return;
    query.search = value;
    freshList();
    messageSearch.run(value);
  }, SEARCH_DEBOUNCE_MS);
}

/** Texts that are not marked with data-i18n, again in the new language. */
function relabel() {
  for (const { summary, el: row } of rows.values()) fillRow(row, summary);
  renderListState();
  renderInboxStatus();
  renderTotals();
  renderNotify();
  viewTabs.render();
  availability.render();
}

function init() {
  for (const button of filterButtons) button.addEventListener('click', () => setFilter(button.dataset.filter));
  search.addEventListener('input', onSearchInput);
  listEl.addEventListener('click', onListClick);
  listEl.addEventListener('scroll', maybeLoadMore, { passive: true });
  backButton.addEventListener('click', backToList);
  soundButton.addEventListener('click', toggleSound);
  notifyButton.addEventListener('click', onNotifyClick);
  // Any first interaction may unlock audio remembered as "on".
  document.addEventListener('pointerdown', unlockAudio, { capture: true });
  document.addEventListener('keydown', unlockAudio, { capture: true });
  window.addEventListener('hashchange', route);
  window.addEventListener('popstate', route);
  window.addEventListener('online', () => socket.hurry());
  window.addEventListener('offline', renderInboxStatus);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) socket.hurry(); // do not wait out a long backoff
  });
  I18N.onChange(relabel);
  setInterval(refreshTimes, CLOCK_TICK_MS);

  soundButton.setAttribute('aria-pressed', load(SOUND_KEY) === '1' ? 'true' : 'false');
  viewTabs.select(query.view);
  loadLabelFilter();
  // Who we are, for "Mine" and "Me" in rows; the list works without it.
  fetch('/api/me', { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .then((me) => {
      if (me && Number.isSafeInteger(me.id)) {
        query.me = me.id;
        availability.setMe(me.id);
      }
      relabel();
    })
    .catch(() => {});
  relabel();
  route();
  socket.connect();
  renderInboxStatus();
}

init();
