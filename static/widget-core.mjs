// The widget's DOM-free rules, shared by the launcher on the host page
// (the server inlines this file, `export`s dropped, into /widget.js) and
// the chat frame (an ES module import): which postMessage data is ours and
// well formed, whom to trust, and what the badge says. Tested with node
// (tests/js/widget-core.test.mjs). Keep it plain: no imports, no DOM.

/** Every message of ours carries this marker, so other scripts' postMessage traffic is ignored. */
export const MARK = 'support-chat/1';

/** A message to send to the other side. */
export function envelope(type, fields) {
  return Object.assign({}, fields || {}, { sc: MARK, type: type });
}

/**
 * Whether a `message` event may be listened to: sent by exactly `origin`
 * from exactly the window `source` (the chat iframe for the host, the host
 * page for the frame). Anything else, including a frame of the same
 * origin elsewhere on the page, is ignored.
 */
export function trusted(event, origin, source) {
  return Boolean(event) && typeof origin === 'string' && origin !== '' &&
    event.origin === origin && source != null && event.source === source;
}

function ours(data) {
  return data !== null && typeof data === 'object' && data.sc === MARK && typeof data.type === 'string';
}

function count(value) {
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function shortText(value, max) {
  return typeof value === 'string' ? value.slice(0, max) : '';
}

/**
 * A customer identity from the host page: `id` as the server accepts it,
 * `sig` 64 hex digits (HMAC-SHA256); `name` and `email` optional. `null`
 * if malformed.
 */
export function identityOf(raw) {
  if (raw === null || typeof raw !== 'object') return null;
  const id = String(raw.id == null ? '' : raw.id);
  const sig = String(raw.sig == null ? '' : raw.sig);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id) || !/^[0-9a-fA-F]{64}$/.test(sig)) return null;
  const identity = { id: id, sig: sig.toLowerCase() };
  if (typeof raw.name === 'string' && raw.name.trim()) identity.name = raw.name.trim().slice(0, 100);
  if (typeof raw.email === 'string' && raw.email.trim()) identity.email = raw.email.trim().slice(0, 254);
  return identity;
}

/** A frame → host event, checked field by field; `null` if it is not one. */
export function frameEvent(data) {
  if (!ours(data)) return null;
  switch (data.type) {
    case 'ready':
    case 'close':
      return { type: data.type };
    case 'state': {
      const unread = count(data.unread);
      if (unread === null) return null;
      return { type: 'state', unread: unread, conversation: data.conversation === true, waiting: data.waiting === true };
    }
    case 'error':
      if (typeof data.code !== 'string' || !data.code) return null;
      return { type: 'error', code: shortText(data.code, 64), message: shortText(data.message, 500) };
    default:
      return null;
  }
}

/** A host → frame command, checked field by field; `null` if it is not one. */
export function hostCommand(data) {
  if (!ours(data)) return null;
  switch (data.type) {
    case 'init': {
      // `identity` null: an anonymous visitor (the frame's remembered conversation).
      const identity = data.identity == null ? null : identityOf(data.identity);
      if (data.identity != null && !identity) return null;
      return { type: 'init', identity: identity, open: data.open === true };
    }
    case 'identify': {
      const identity = identityOf(data.identity);
      return identity ? { type: 'identify', identity: identity } : null;
    }
    case 'open':
      return { type: 'open', focus: data.focus !== false };
    case 'close':
      return { type: 'close' };
    default:
      return null;
  }
}

/** Agent messages after the customer's read mark: what the badge counts. */
export function unreadCount(messages, readSeq) {
  const mark = count(readSeq) || 0;
  let n = 0;
  for (const m of messages || []) if (m && m.from === 'agent' && count(m.seq) !== null && m.seq > mark) n += 1;
  return n;
}

/** The badge's text: nothing for 0, at most "99+". */
export function badgeText(n) {
  const value = count(n) || 0;
  if (!value) return '';
  return value > 99 ? '99+' : String(value);
}

/** The widget's options from the script tag's data-* attributes, with defaults. */
export function scriptOptions(dataset) {
  const d = dataset || {};
  const color = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(d.color || '') ? d.color : '#2563eb';
  const lang = d.lang === 'en' || d.lang === 'zh' ? d.lang : 'auto';
  const position = d.position === 'left' ? 'left' : 'right';
  const identity = d.userId || d.sig ? identityOf({ id: d.userId, sig: d.sig }) : null;
  return {
    color: color, lang: lang, position: position, identity: identity,
    badIdentity: Boolean(d.userId || d.sig) && !identity, greeting: d.greeting !== 'off',
  };
}
