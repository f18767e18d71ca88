// support-chat agent console (/agent): the live list of conversations on
// the left (console-list.js), fed by the inbox socket (/ws/inbox,
// PROTOCOL.md), and the open conversation on the right as a ChatView
// (chat-view.js), swapped without a reload. The open conversation is in
// the address: /agent#<client id>. Alerts: unread total in the tab title
// and the favicon (console-totals.js), an optional chime and desktop
// notifications for customer messages (console-alerts.js).
import { I18N } from './i18n.mjs';
import { countOf, idFromHash, inboxState, validSummary } from './inbox.mjs';
import { ReconnectingSocket, credentialsProbe } from './socket.mjs';
import { ChatView } from './chat-view.js';
import { ConversationList } from './console-list.js';
import { MessageAlerts } from './console-alerts.js';
import { renderTotals } from './console-totals.js';
import { AssignedAlerts, AvailabilityBox, ViewTabs } from './console-routing.js';
import { MessageSearch } from './console-search.js';
import { el, pageParams, socketUrl, loginHref } from './dom.js';

const SEARCH_DEBOUNCE_MS = 300;
const CLOCK_TICK_MS = 30000; // relative times ("5 minutes ago") refresh
const NARROW = window.matchMedia('(max-width: 700px)'); // list or chat, not both

const t = (key, vars) => I18N.t(key, vars);
const $ = (id) => document.getElementById(id);

const consoleEl = $('console');
const listEl = $('conv-list');
const pane = $('chat-pane');
const emptyPane = $('chat-empty');
const search = $('search');
const filterButtons = Array.from(document.querySelectorAll('.filter'));
const inboxStatus = $('inbox-status');
const favicon = $('favicon');
const loggedOut = $('logged-out');
const loginLink = $('login-again');
const backButton = el('button', {
  type: 'button', id: 'back', class: 'back-button', 'data-i18n': 'back', 'data-i18n-title': 'backLabel',
});

// ---- state -------------------------------------------------------------------

// What the list shows; `me` (our agent id) tells which rows are "Mine".
const query = { status: 'open', search: '', view: 'all', me: null, label: null };
let totals = { unread: 0, waiting: 0 };

// The inbox socket; an upgrade refused for credentials means logged out.
const socket = new ReconnectingSocket({
  url: () => socketUrl('/ws/inbox', pageParams()),
  onOpen: () => {
    renderInboxStatus();
    list.fresh(); // resync: changes while away were not pushed to us
  },
  onFrame,
  onClose: () => {
    list.connectionLost();
    renderInboxStatus();
  },
  onHalt: showLoggedOut,
  probe: credentialsProbe(pageParams()),
});
let searchTimer = null;

const list = new ConversationList({
  listEl, stateEl: $('list-state'), query, send: (frame) => socket.send(frame),
});
const messageAlerts = new MessageAlerts({
  soundButton: $('sound'),
  notifyButton: $('notify'),
  favicon,
  open: (id) => openFromList(id),
  activeId: () => activeId,
});
const viewTabs = new ViewTabs($('views'), setView);
const alerts = new AssignedAlerts($('assigned-alerts'), (id) => openFromList(id));
const messageSearch = new MessageSearch($('message-results'), (id) => openFromList(id));
const availability = new AvailabilityBox($('availability'), $('roster'), (frame) => socket.send(frame));

let view = null; // the ChatView of the open conversation
let activeId = null;

// ---- the inbox socket -------------------------------------------------------------

function onConversations(f) {
  const items = list.onPage(f);
  if (!items) return; // an answer to an older ask
  items.forEach((s) => messageAlerts.remember(s));
  socket.proven(); // the connection works
  if (f.totals) setTotals(f.totals);
  viewTabs.setCounts(f.views);
}

function onConversation(f) {
  const s = f.conversation;
  if (!validSummary(s)) return;
  messageAlerts.onSummary(s);
  list.apply(s);
}

/** A colleague (or automatic assignment) gave us a conversation. */
function onAssigned(f) {
  const valid = validSummary(f.conversation);
  if (valid) onConversation({ conversation: f.conversation });
  alerts.show(f);
  messageAlerts.onAssigned(valid ? f.conversation : null);
}

/** A conversation was erased: its row goes (an open view is closed by its socket, 4004). */
function onRemoved(f) {
  if (typeof f.client_id === 'string') list.remove(f.client_id);
}

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
    case 'error': list.onError(); break;
    default: break; // newer server features: ignore
  }
}

function renderInboxStatus() {
  const [state, key] = inboxState({
    open: socket.open, halted: socket.halted, offline: navigator.onLine === false, waiting: socket.waiting,
  });
  inboxStatus.dataset.state = state;
  inboxStatus.textContent = t(key);
  inboxStatus.title = t(key); // narrow screens show only the dot
}

function setTotals(f) {
  totals = { unread: countOf(f.unread), waiting: countOf(f.waiting) };
  renderTotals(totals, favicon);
}

// ---- the open conversation --------------------------------------------------------------

/** Shows the conversation in the address (or none), without a reload. */
function route() {
  const id = idFromHash(location.hash);
  if (id === activeId) return;
  if (view) view.destroy();
  view = null;
  pane.querySelector('.chat-host')?.remove();
  activeId = id;
  list.setActive(id);
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
  list.fresh();
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
    list.fresh();
  });
}

function setView(v) {
  if (v === query.view) return;
  query.view = v;
  viewTabs.select(v);
  list.fresh();
}

function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    const value = search.value.trim();
    if (value === query.search) return;
    query.search = value;
    list.fresh();
    messageSearch.run(value);
  }, SEARCH_DEBOUNCE_MS);
}

/** Texts that are not marked with data-i18n, again in the new language. */
function relabel() {
  list.relabel();
  renderInboxStatus();
  renderTotals(totals, favicon);
  messageAlerts.renderNotify();
  viewTabs.render();
  availability.render();
}

function init() {
  for (const button of filterButtons) button.addEventListener('click', () => setFilter(button.dataset.filter));
  search.addEventListener('input', onSearchInput);
  listEl.addEventListener('click', onListClick);
  listEl.addEventListener('scroll', () => list.maybeLoadMore(), { passive: true });
  backButton.addEventListener('click', backToList);
  window.addEventListener('hashchange', route);
  window.addEventListener('popstate', route);
  window.addEventListener('online', () => socket.hurry());
  window.addEventListener('offline', renderInboxStatus);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) socket.hurry(); // do not wait out a long backoff
  });
  I18N.onChange(relabel);
  setInterval(() => list.refreshTimes(), CLOCK_TICK_MS);

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
