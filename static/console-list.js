// The console's list of conversations: one row per summary, in the
// server's order (inbox.mjs), paged in with `list` requests on the inbox
// socket (PROTOCOL.md "The inbox socket") and kept current by pushed
// changes; a state line says when it loads, is empty or matches nothing.
import { I18N } from './i18n.mjs';
import {
  badgeText, beyondLoaded, compare, countOf, listFrame, listState, matches, previewOf, validSummary, whoOf,
} from './inbox.mjs';
import { labelChip } from './label-control.js';
import { el } from './dom.js';

const PAGE_SIZE = 50;
const LOAD_MORE_PX = 200; // this close to the list's end: fetch the next page
const LIST_RETRY_MS = 2000; // after the server refused a list request

const t = (key, vars) => I18N.t(key, vars);

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

function fillTime(row, s) {
  const stamp = row.querySelector('.conv-time');
  stamp.dateTime = s.last_activity || '';
  stamp.textContent = I18N.formatRelative(s.last_activity);
  stamp.title = I18N.formatDateTime(s.last_activity);
}

export class ConversationList {
  /**
   * `listEl` holds the rows, `stateEl` the state line; `query` ({status,
   * search, view, me, label}, changed by the console) is what the list
   * shows; `send(frame)` sends on the inbox socket (false if closed).
   */
  constructor({ listEl, stateEl, query, send }) {
    this.listEl = listEl;
    this.stateEl = stateEl;
    this.query = query;
    this.send = send;
    this.rows = new Map(); // client id -> {summary, el} for every listed row
    this.nextCursor = null; // the next page of the current list, if any
    this.boundary = null; // the last summary of the last page: where loaded rows end
    this.pending = null; // {request, append}: the list request awaiting an answer
    this.requestCounter = 0;
    this.listed = false; // a first page has arrived: an empty list means empty
    this.retryTimer = null;
    this.activeId = null; // the conversation open on the right
  }

  /** Writes a summary into its row (every text through textContent). */
  fillRow(row, s) {
    const online = Boolean(s.customer_online);
    const part = (cls) => row.querySelector('.' + cls);
    row.classList.toggle('waiting', Boolean(s.waiting));
    row.classList.toggle('active', s.client_id === this.activeId);
    row.title = s.waiting ? t('rowWaiting') : '';
    part('conv-online').dataset.online = online ? 'true' : 'false';
    part('conv-online').title = t(online ? 'customerOnline' : 'customerOffline');
    part('conv-preview').textContent = previewOf(s, t);
    part('conv-id').textContent = whoOf(s);
    part('conv-id').title = s.client_id;
    const assignee = s.assignee && typeof s.assignee.name === 'string' ? s.assignee : null;
    part('conv-assignee').textContent = assignee
      ? (assignee.id === this.query.me ? t('me') : assignee.name)
      : t('unassigned');
    part('conv-assignee').dataset.assigned = assignee ? 'true' : 'false';
    part('conv-labels').replaceChildren(...(Array.isArray(s.labels) ? s.labels : []).map((l) => labelChip(l)));
    part('conv-status').dataset.status = s.status === 'resolved' ? 'resolved' : 'open';
    part('conv-status').textContent = t(s.status === 'resolved' ? 'statusResolved' : 'statusOpen');
    const unread = countOf(s.unread);
    const badge = part('conv-unread');
    badge.dataset.count = String(unread);
    badge.textContent = badgeText(unread);
    badge.title = t('rowUnread', { n: unread });
    badge.hidden = unread === 0;
    fillTime(row, s);
  }

  /** Puts (or moves) a row where the order rule says, among the loaded rows. */
  placeRow(entry) {
    let next = null;
    for (const other of this.listEl.children) {
      if (other === entry.el) continue;
      const summary = this.rows.get(other.dataset.clientId).summary;
      if (compare(entry.summary, summary) < 0) {
        next = other;
        break;
      }
    }
    // Already in place: moving a node would drop focus and hover for nothing.
    if (!entry.el.isConnected || entry.el.nextElementSibling !== next) this.listEl.insertBefore(entry.el, next);
  }

  removeRow(id) {
    const entry = this.rows.get(id);
    if (!entry) return;
    entry.el.remove();
    this.rows.delete(id);
  }

  upsertRow(s) {
    let entry = this.rows.get(s.client_id);
    if (!entry) {
      entry = { summary: s, el: createRow(s.client_id) };
      this.rows.set(s.client_id, entry);
    }
    entry.summary = s;
    this.fillRow(entry.el, s);
    this.placeRow(entry);
  }

  /** A pushed change: its row comes, moves, changes or goes. */
  apply(s) {
    if (!matches(this.query, s) || beyondLoaded(s, this.nextCursor, this.boundary)) this.removeRow(s.client_id);
    else this.upsertRow(s);
    this.renderState();
  }

  /** A conversation was erased: its row goes. */
  remove(id) {
    this.removeRow(id);
    this.renderState();
  }

  renderState() {
    const state = listState({ loading: Boolean(this.pending) || !this.listed, rows: this.rows.size, search: this.query.search });
    this.stateEl.dataset.state = state;
    const text = {
      loading: t('listLoading'),
      nomatch: t('listNoMatch', { search: this.query.search }),
      empty: t('listEmpty'),
    }[state];
    this.stateEl.textContent = text || '';
    this.stateEl.hidden = !text;
  }

  /** Every row's texts again (a new language, or who "me" is). */
  relabel() {
    for (const { summary, el: row } of this.rows.values()) this.fillRow(row, summary);
    this.renderState();
  }

  /** Relative times ("5 minutes ago") move on. */
  refreshTimes() {
    for (const { summary, el: row } of this.rows.values()) fillTime(row, summary);
  }

  /** Marks the open conversation's row (`id`, or null for none). */
  setActive(id) {
    this.activeId = id;
    this.markActive();
    this.revealActive();
  }

  markActive() {
    for (const row of this.listEl.children) row.classList.toggle('active', row.dataset.clientId === this.activeId);
  }

  /** Scrolls the open conversation's row into sight (after a jump to it). */
  revealActive() {
    const row = this.activeId ? this.rows.get(this.activeId) : null;
    if (row) row.el.scrollIntoView({ block: 'nearest' });
  }

  /** Asks for the first page (fresh) or the next one; a fresh ask wins. */
  request(append) {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (append && (this.pending || !this.nextCursor)) return;
    const request = ++this.requestCounter;
    const frame = listFrame(this.query, append ? this.nextCursor : null, PAGE_SIZE, request);
    this.pending = this.send(frame) ? { request, append } : null;
    this.renderState();
  }

  /** The list from its first page (the query changed, or a resync). */
  fresh() {
    this.nextCursor = null;
    this.request(false);
  }

  /**
   * A `conversations` frame: the page we asked for is shown. Returns its
   * valid summaries, or null for an answer to an older ask.
   */
  onPage(f) {
    if (!this.pending || f.request !== this.pending.request) return null;
    const { append } = this.pending;
    this.pending = null;
    this.listed = true;
    const items = (Array.isArray(f.items) ? f.items : []).filter(validSummary);
    if (!append) {
      this.rows.clear();
      this.listEl.replaceChildren();
    }
    items.forEach((s) => this.upsertRow(s));
    this.nextCursor = typeof f.next_cursor === 'string' ? f.next_cursor : null;
    if (items.length || !append) this.boundary = items.length ? items[items.length - 1] : null;
    this.renderState();
    this.markActive();
    if (!append) this.revealActive();
    this.maybeLoadMore();
    return items;
  }

  /**
   * An inbox error: our only request is `list`, so ask again a little
   * later from scratch (a stale cursor is one reason the server refuses).
   */
  onError() {
    if (!this.pending) return;
    this.pending = null;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.request(false), LIST_RETRY_MS);
    this.renderState();
  }

  /** The inbox socket closed: no answer is coming. */
  connectionLost() {
    this.pending = null;
    this.renderState();
  }

  /** Fetches the next page when the end of the list is (nearly) in sight. */
  maybeLoadMore() {
    if (!this.nextCursor || this.pending) return;
    const list = this.listEl;
    if (list.scrollHeight - list.scrollTop - list.clientHeight < LOAD_MORE_PX) this.request(true);
  }
}
