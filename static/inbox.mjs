// The console list's rules, DOM-free (the server's order and filter,
// PROTOCOL.md "The inbox socket"), so pushed changes land where a fresh
// page from the server would put them. Tested in tests/js/.

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
