// The pages' language: picks English or Simplified Chinese, looks strings
// up (strings.mjs) and translates the static HTML. Static text is marked
// with data-i18n="key" (textContent), data-i18n-placeholder, data-i18n-title,
// data-i18n-aria-label; data-i18n-var-NAME="value" fills {NAME} in those.
// data-i18n-server marks a message written by the server (always English):
// known ones are translated, others stay as they are.
// A <select id="lang"> switches the language without a reload and
// remembers it (cookie for the server, localStorage for this browser).
// Importing the module translates the page.
import { STRINGS } from './strings.mjs';
import { formatTime, formatDateTime, formatRelative } from './text.mjs';

const LANGS = ['en', 'zh'];
const COOKIE = 'support_chat_lang';
const STORAGE_KEY = 'support-chat:lang';
const COOKIE_MAX_AGE = 31536000; // one year

// The server's English texts that we know, by their exact wording.
const SERVER_TEXT = new Map(
  Object.entries(STRINGS.en)
    .filter(([key]) => key.startsWith('server'))
    .map(([key, text]) => [text, key]),
);

const listeners = new Set();

// ---- choosing and remembering ------------------------------------------------

function pick(value) {
  const v = String(value || '').trim().toLowerCase();
  return LANGS.find((l) => v === l || v.startsWith(l + '-')) || null;
}

function readCookie() {
  const hit = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith(COOKIE + '='));
  return hit ? pick(decodeURIComponent(hit.slice(COOKIE.length + 1))) : null;
}

function readStorage() {
  try {
    return pick(localStorage.getItem(STORAGE_KEY));
  } catch (e) {
    return null; // storage disabled
  }
}

function writeCookie(value) {
  document.cookie = COOKIE + '=' + value + '; path=/; max-age=' + COOKIE_MAX_AGE + '; SameSite=Lax';
}

/** Cookie (for the server's next page) and localStorage (if the cookie is lost). */
function store(value) {
  writeCookie(value);
  try {
    localStorage.setItem(STORAGE_KEY, value);
  } catch (e) {
    // storage disabled: the cookie still carries the choice
  }
}

/**
 * `?lang=` first (and remembered: the next page, e.g. after the start
 * page's redirect to a new chat, is in it too), then the remembered choice,
 * then the page's <html lang> (which the server picked from the same cookie
 * or Accept-Language). The cookie is read here too because not every page
 * is rendered with it, and localStorage covers a lost cookie.
 */
function initialLang() {
  const fromQuery = pick(new URLSearchParams(location.search).get('lang'));
  if (fromQuery) {
    store(fromQuery);
    return fromQuery;
  }
  const fromCookie = readCookie();
  if (fromCookie) return fromCookie;
  const stored = readStorage();
  if (stored) {
    writeCookie(stored); // so the server renders the next page right
    return stored;
  }
  return pick(document.documentElement.lang) || 'en';
}

function remember(value) {
  store(value);
  // A `?lang=` in the address would override the choice on reload.
  const url = new URL(location.href);
  if (url.searchParams.has('lang')) {
    url.searchParams.set('lang', value);
    history.replaceState(history.state, '', url);
  }
}

let lang = initialLang();

// ---- lookups -------------------------------------------------------------------

/** The UI string `key` with `{name}` filled from `vars`; English if missing. */
function t(key, vars) {
  let s = STRINGS[lang][key];
  if (s === undefined) s = STRINGS.en[key];
  if (s === undefined) return key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

function has(key) {
  return key in STRINGS.en;
}

/** The locale for dates and numbers: the browser's own for English. */
function locale() {
  return lang === 'zh' ? 'zh-CN' : undefined;
}

// ---- applying to the page ---------------------------------------------------------

/** {name: value} from an element's data-i18n-var-NAME attributes. */
function varsOf(el) {
  const vars = {};
  for (const [k, v] of Object.entries(el.dataset)) {
    if (k.startsWith('i18nVar') && k.length > 7) vars[k.slice(7).toLowerCase()] = v;
  }
  return vars;
}

function translateServerText(el) {
  // The first English text is the source for every later switch.
  if (el.dataset.i18nSource === undefined) el.dataset.i18nSource = el.textContent.trim();
  const key = SERVER_TEXT.get(el.dataset.i18nSource);
  el.textContent = key ? t(key) : el.dataset.i18nSource;
}

/** Translates every marked element under `root` (the whole page by default). */
function apply(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n, varsOf(el));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder, varsOf(el));
  }
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle, varsOf(el));
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel, varsOf(el)));
  }
  for (const el of root.querySelectorAll('[data-i18n-server]')) translateServerText(el);
  for (const select of root.querySelectorAll('select#lang')) select.value = lang;
}

/** Switches the page to `value` without a reload and remembers it. */
function setLang(value) {
  const next = pick(value);
  if (!next) return;
  remember(next);
  if (next === lang) return;
  lang = next;
  document.documentElement.lang = next;
  apply();
  for (const fn of listeners) fn(next);
}

/** Calls `fn(lang)` after every switch, until `signal` (optional) aborts. */
function onChange(fn, signal) {
  listeners.add(fn);
  if (signal) signal.addEventListener('abort', () => listeners.delete(fn), { once: true });
}

export const I18N = {
  get lang() {
    return lang;
  },
  t,
  has,
  locale,
  formatTime: (ts) => formatTime(ts, locale()),
  formatDateTime: (ts) => formatDateTime(ts, locale()),
  formatRelative: (ts) => formatRelative(ts, locale()),
  apply,
  setLang,
  onChange,
};

document.documentElement.lang = lang;
apply();
for (const select of document.querySelectorAll('select#lang')) {
  select.addEventListener('change', () => setLang(select.value));
}
