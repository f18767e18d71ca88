// The console's rules, DOM-free: the list's (the server's order and
// filter, PROTOCOL.md "The inbox socket", so pushed changes land where a
// fresh page from the server would put them; its requests and its state
// line), the inbox connection badge, counts, and which change is news.
// Tested in tests/js/.

const VALID_ID = /^[A-Za-z0-9_-]{1,64}$/; // the server's client id rule
const FRESH_MS = 15000; // a never-seen conversation this recent is news

const time = (ts) => (ts ? Date.parse(ts) : 0);

/** Waiting first, the longest wait first; then the latest activity first. */
export function compare(a, b) {
  if (a.waiting !== b.waiting) return a.waiting ? -1 : 1;
  const byTime = a.waiting
    ? time(a.waiting_since) - time(b.waiting_since)
    : time(b.last_activity) - time(a.last_activity);
  if (byTime) return byTime;
  return a.client_id < b.client_id ? -1 : a.client_id > b.client_id ? 1 : 0;
}

/**
 * Whether `summary` belongs in the list of `query` ({status, search, view,
 * me}): `view` 'mine' (assigned to agent `me`), 'unassigned' or 'all'.
 * Client ids are case-sensitive, the search is not ("LOAD" finds "load-12").
 */
export function matches(query, summary) {
  if (query.status !== 'all' && summary.status !== query.status) return false;
  if (!inView(query.view, query.me, summary.assignee)) return false;
  if (query.label && !(Array.isArray(summary.labels) && summary.labels.some((l) => l.id === query.label))) return false;
  if (!query.search) return true;
  // The id, or the name or email the customer gave (as the server matches).
  const c = summary.contact && typeof summary.contact === 'object' ? summary.contact : {};
  const needle = query.search.toLowerCase();
  return [summary.client_id, c.name, c.email].some((v) => typeof v === 'string' && v.toLowerCase().includes(needle));
}

/** Who a row is about: the customer's name or email if they gave one, else the id. */
export function whoOf(summary) {
  const c = summary.contact && typeof summary.contact === 'object' ? summary.contact : {};
  const given = [c.name, c.email].find((v) => typeof v === 'string' && v.trim());
  return given ? given.trim() : summary.client_id;
}

/** Whether a conversation assigned to `assignee` (or null) is in `view`. */
export function inView(view, me, assignee) {
  if (view === 'mine') return Boolean(assignee) && assignee.id === me;
  if (view === 'unassigned') return !assignee;
  return true;
}

/** A summary's preview line: "You: …" once for the agents' own last message. */
export function previewOf(summary, t) {
  if (!summary.last_seq) return t('noMessages');
  const text = typeof summary.preview === 'string' ? summary.preview : '';
  return summary.last_from === 'agent' ? t('previewMine', { text }) : text;
}

/** Whether a pushed or listed summary names a conversation the server could have. */
export function validSummary(s) {
  return Boolean(s) && typeof s.client_id === 'string' && VALID_ID.test(s.client_id);
}

/** The conversation in the console's address (`#<client id>`), or null. */
export function idFromHash(hash) {
  let id = '';
  try {
    id = decodeURIComponent(hash.slice(1));
  } catch (e) {
    id = '';
  }
  return VALID_ID.test(id) ? id : null;
}

/** A count from the server: a positive safe integer, else 0. */
export function countOf(n) {
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** A count on a small badge. */
export function badgeText(n) {
  return n > 99 ? '99+' : String(n);
}

/** The `list` frame asking `query`'s page after `cursor` (null: the first). */
export function listFrame(query, cursor, limit, request) {
  const frame = {
    type: 'list',
    status: query.status,
    view: query.view,
    label: query.label,
    cursor,
    limit,
    request,
  };
  if (query.search) frame.search = query.search;
  return frame;
}

/**
 * Whether a pushed summary sorts past the loaded pages (`boundary`, the
 * last row loaded, while `nextCursor` says more pages exist): the page
 * that brings it will show it, so the list never shows a row after
 * unloaded ones.
 */
export function beyondLoaded(summary, nextCursor, boundary) {
  return Boolean(nextCursor && boundary) && compare(summary, boundary) > 0;
}

/** The list's state line: 'loading', 'nomatch', 'empty' or 'idle'. */
export function listState({ loading, rows, search }) {
  if (loading) return 'loading';
  if (rows) return 'idle';
  return search ? 'nomatch' : 'empty';
}

/** The inbox connection badge: `[state, key]` from the socket. */
export function inboxState({ open, halted, offline, waiting }) {
  if (open) return ['connected', 'connected'];
  if (halted === 'logged-out') return ['offline', 'loggedOutShort'];
  if (offline) return ['offline', 'offline'];
  return ['reconnecting', waiting ? 'reconnecting' : 'connecting'];
}

/**
 * A customer wrote: the last message is theirs and last_seq grew past
 * `known` (the last_seq seen before, or undefined). For a conversation
 * never seen (past the loaded pages, or new) only a recent last activity
 * (at `now`) tells a new message from a presence or read change.
 */
export function isNewCustomerMessage(summary, known, now) {
  if (summary.last_from !== 'customer' || !Number.isSafeInteger(summary.last_seq)) return false;
  if (known !== undefined) return summary.last_seq > known;
  return now - Date.parse(summary.last_activity || '') < FRESH_MS;
}
