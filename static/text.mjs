// DOM-free text helpers of the pages: message text as the server counts and
// trims it, links inside it, and times. `.mjs` files never touch the DOM, so
// the Node tests in tests/js/ import them as they are.

/** Characters as the server counts them (Unicode scalar values). */
export function charCount(text) {
  return Array.from(text).length; // code points, not UTF-16 units
}

/** Drops leading blank lines and trailing whitespace; keeps indentation. */
export function normalizeText(text) {
  return text.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/\s+$/, '');
}

/**
 * A client message id: the role's prefix, the time in milliseconds as 11
 * hex digits, then 40 random bits. One sender's ids sort in the order it
 * sends them, so the server's index of ids grows at its end instead of at
 * random places (the benchmark measured a fifth fewer disk bytes a message
 * than random ids, and shorter ids than a UUID's 36 characters save more);
 * the random part keeps two tabs or devices apart within a millisecond.
 */
export function newMessageId(role, cryptoImpl = globalThis.crypto, now = Date.now()) {
  const bytes = new Uint8Array(5);
  if (cryptoImpl && cryptoImpl.getRandomValues) cryptoImpl.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  const random = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const time = Math.max(0, Math.floor(now)).toString(16).padStart(11, '0');
  return (role === 'agent' ? 'a-' : 'c-') + time + random;
}

// An http(s) URL runs until whitespace, quotes, angle brackets or CJK
// punctuation ("见 https://x.cn/a。" ends before "。").
const URL_RE = /\bhttps?:\/\/[^\s<>"'\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]+/gi;
// Sentence punctuation right after a URL belongs to the sentence.
const TRAILING = /[.,;:!?*_~]+$/;

/** Drops what ends a sentence, and a closing bracket the URL did not open. */
function trimUrl(raw) {
  let url = raw.replace(TRAILING, '');
  for (const [open, close] of [['(', ')'], ['[', ']']]) {
    const count = (ch) => url.split(ch).length - 1;
    while (url.endsWith(close) && count(close) > count(open)) url = url.slice(0, -1).replace(TRAILING, '');
  }
  return url;
}

/**
 * Splits `text` into parts `{text}` and `{text, href}` (an http or https
 * link). Anything else, `javascript:` included, stays plain text.
 */
export function splitLinks(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(URL_RE)) {
    const url = trimUrl(match[0]);
    let href = null;
    try {
      const parsed = new URL(url);
      if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname) href = parsed.href;
    } catch (e) {
      href = null; // not a URL after all: stays text
    }
    if (!href) continue;
    if (match.index > at) parts.push({ text: text.slice(at, match.index) });
    parts.push({ text: url, href });
    at = match.index + url.length;
  }
  if (at < text.length || !parts.length) parts.push({ text: text.slice(at) });
  return parts;
}

function validDate(ts) {
  const d = new Date(ts);
  return ts && !Number.isNaN(d.getTime()) ? d : null;
}

/**
 * Time for today's messages, date and time for older ones; the hour
 * without a leading zero ("9:50 PM", "21:50").
 */
export function formatTime(ts, locale, now = new Date()) {
  const d = validDate(ts);
  if (!d) return '';
  const time = d.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit' });
  if (d.toDateString() === now.toDateString()) return time;
  return d.toLocaleDateString(locale) + ' ' + time;
}

export function formatDateTime(ts, locale) {
  const d = validDate(ts);
  return d ? d.toLocaleString(locale) : '';
}

/** "5 minutes ago" style; dates beyond a week. */
export function formatRelative(ts, locale, now = Date.now()) {
  const d = validDate(ts);
  if (!d) return '';
  const seconds = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs >= 7 * 86400 || typeof Intl.RelativeTimeFormat !== 'function') {
    return d.toLocaleDateString(locale);
  }
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  if (abs < 45) return rtf.format(0, 'second'); // "now"
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}
