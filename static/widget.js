// The launcher: what /widget.js adds to the host page (after the checks of
// widget-core.mjs, which the server puts in front of this file). A chat
// bubble in a shadow root, the chat iframe of our origin made on the first
// open (or at load, when the remembered conversation has unread agent
// messages or awaits a reply), the unread badge, and window.SupportChat.
// Nothing here takes focus unless the visitor opens the chat.

const script = document.currentScript;
if (!script || !script.src) {
  console.error('support-chat: load widget.js with <script src="https://<chat server>/widget.js" async>');
  return;
}
if (window.SupportChat && window.SupportChat.version) return; // included twice

const CHAT = new URL(script.src).origin;
const options = scriptOptions(script.dataset);
const STATE_KEY = 'support-chat:' + CHAT;
const WORDS = {
  en: { open: 'Open support chat', close: 'Close support chat', chat: 'Support chat', unread: '{n} unread', dismiss: 'Dismiss' },
  zh: { open: '打开在线客服', close: '关闭在线客服', chat: '在线客服', unread: '{n} 条未读', dismiss: '关闭' },
};
const lang = options.lang !== 'auto' ? options.lang : (/^zh\b/i.test(navigator.language || '') ? 'zh' : 'en');
const words = WORDS[lang];
const listeners = { unread: new Set(), open: new Set(), close: new Set(), error: new Set() };

let saved = { conversation: false, unread: 0, waiting: false };
try {
  saved = Object.assign(saved, JSON.parse(localStorage.getItem(STATE_KEY) || '{}'));
} catch (e) {
  // storage disabled or unreadable: start blank
}
let config = null;
let refused = false;
let identity = options.identity;
let ui = null;
let frame = null;
let frameReady = false;
let isOpen = false;
let unread = badgeText(saved.unread) ? saved.unread : 0;

function fail(message) {
  console.error('support-chat: ' + message);
  emit('error', { message: message });
}

function emit(name, value) {
  for (const fn of listeners[name]) {
    try {
      fn(value);
    } catch (e) {
      console.error(e);
    }
  }
}

function post(type, fields) {
  if (frame && frameReady) frame.contentWindow.postMessage(envelope(type, fields), CHAT);
}

function node(tag, attrs, children) {
  const svg = tag === 'svg' || tag === 'path';
  const n = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const k in attrs || {}) n.setAttribute(k, attrs[k]);
  for (const c of children || []) n.append(c);
  return n;
}

const CSS = `
:host { all: initial; }
.root { position: fixed; bottom: 20px; z-index: 2147483000; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
.root[data-position=right] { right: 20px; } .root[data-position=left] { left: 20px; }
.launcher { position: relative; width: 56px; height: 56px; border-radius: 50%; border: 0; cursor: pointer;
  background: var(--sc-color); color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25); display: grid; place-items: center;
  transition: transform .15s ease; }
.launcher:hover { transform: scale(1.06); }
.launcher:focus-visible { outline: 3px solid #111; outline-offset: 3px; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; padding: 0 6px; box-sizing: border-box;
  border-radius: 10px; background: #dc2626; color: #fff; font-size: 12px; font-weight: 700; line-height: 20px; text-align: center;
  border: 2px solid #fff; }
.badge[hidden], .panel[hidden], .greeting[hidden] { display: none; }
.panel { position: fixed; bottom: 88px; width: 380px; height: min(640px, calc(100vh - 110px)); border-radius: 14px; overflow: hidden;
  background: #fff; box-shadow: 0 10px 40px rgba(0,0,0,.3); transition: opacity .18s ease, transform .18s ease; }
.root[data-position=right] .panel { right: 20px; } .root[data-position=left] .panel { left: 20px; }
.panel.hidden-frame { visibility: hidden; opacity: 0; transform: translateY(12px); pointer-events: none; }
iframe { border: 0; width: 100%; height: 100%; display: block; }
.greeting { position: absolute; bottom: 68px; width: max-content; max-width: 260px; padding: 10px 30px 10px 12px; border-radius: 12px;
  background: #fff; color: #111; box-shadow: 0 4px 16px rgba(0,0,0,.2); }
.root[data-position=right] .greeting { right: 0; } .root[data-position=left] .greeting { left: 0; }
.greeting p { margin: 0; cursor: pointer; }
.dismiss { position: absolute; top: 4px; right: 4px; border: 0; background: none; font-size: 16px; cursor: pointer; color: #555; }
@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; }
  .root[data-open=true] .launcher, .root[data-open=true] .greeting { display: none; }
}
@media (prefers-reduced-motion: reduce) { .launcher, .panel { transition: none; } .launcher:hover { transform: none; } }
`;

function icon(openIcon) {
  const d = openIcon
    ? 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z'
    : 'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z';
  return node('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' }, [node('path', { d: d })]);
}

function build() {
  const hostEl = node('div', { id: 'support-chat-widget' });
  const shadow = hostEl.attachShadow({ mode: 'open' });
  const style = node('style');
  style.textContent = CSS;
  const badge = node('span', { class: 'badge', hidden: '' });
  const launcher = node('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'panel' }, [icon(true), badge]);
  const panel = node('div', { id: 'panel', class: 'panel', role: 'dialog', 'aria-label': words.chat, hidden: '' });
  const greetingText = node('p');
  const dismiss = node('button', { type: 'button', class: 'dismiss', 'aria-label': words.dismiss });
  dismiss.textContent = '×';
  const greeting = node('div', { class: 'greeting', hidden: '' }, [greetingText, dismiss]);
  const root = node('div', { class: 'root', 'data-position': options.position, 'data-open': 'false' }, [greeting, panel, launcher]);
  root.style.setProperty('--sc-color', options.color);
  shadow.append(style, root);
  launcher.addEventListener('click', () => (isOpen ? close() : open()));
  greetingText.addEventListener('click', () => open());
  dismiss.addEventListener('click', () => {
    greeting.hidden = true;
    try {
      sessionStorage.setItem('support-chat:greeted', '1');
    } catch (e) {
      // storage disabled
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && isOpen) close();
  });
  document.body.append(hostEl);
  return { root, launcher, badge, panel, greeting, greetingText };
}

function render() {
  if (!ui) return;
  const text = badgeText(unread);
  ui.badge.textContent = text;
  ui.badge.hidden = !text || isOpen; // the open chat shows the messages themselves
  ui.root.dataset.open = String(isOpen);
  ui.launcher.setAttribute('aria-expanded', String(isOpen));
  const label = isOpen ? words.close : words.open;
  ui.launcher.setAttribute('aria-label', text ? label + ' (' + words.unread.replace('{n}', text) + ')' : label);
  ui.launcher.replaceChildren(icon(!isOpen), ui.badge);
  if (isOpen) ui.greeting.hidden = true;
}

function showGreeting() {
  let greeted = false;
  try {
    greeted = sessionStorage.getItem('support-chat:greeted') === '1';
  } catch (e) {
    // storage disabled
  }
  const text = config.greeting && config.greeting[lang];
  if (!options.greeting || greeted || saved.conversation || !text) return;
  ui.greetingText.textContent = text;
  ui.greeting.hidden = false;
}

/** The chat iframe, made once; hidden until opened (then it only counts unread). */
function ensureFrame() {
  if (frame) return;
  const src = CHAT + '/widget/frame?host=' + encodeURIComponent(location.origin) + (options.lang !== 'auto' ? '&lang=' + options.lang : '');
  frame = node('iframe', { src: src, title: words.chat, allow: 'clipboard-write' });
  ui.panel.classList.add('hidden-frame');
  ui.panel.hidden = false;
  ui.panel.append(frame);
}

function open() {
  if (!ui || refused) return;
  ensureFrame();
  isOpen = true;
  ui.panel.classList.remove('hidden-frame');
  render();
  frame.focus();
  post('open', { focus: true });
  emit('open');
}

function close() {
  if (!ui || !isOpen) return;
  isOpen = false;
  ui.panel.classList.add('hidden-frame');
  post('close');
  render();
  ui.launcher.focus(); // back to where the visitor opened the chat
  emit('close');
}

function onState(ev) {
  saved = { conversation: ev.conversation, unread: ev.unread, waiting: ev.waiting };
  try {
    localStorage.setItem(STATE_KEY, JSON.stringify(saved));
  } catch (e) {
    // storage disabled
  }
  if (ev.unread !== unread) {
    unread = ev.unread;
    render();
    emit('unread', unread);
  }
}

window.addEventListener('message', (e) => {
  if (!frame || !trusted(e, CHAT, frame.contentWindow)) return;
  const ev = frameEvent(e.data);
  if (!ev) return;
  if (ev.type === 'ready') {
    frameReady = true;
    post('init', { identity: identity, open: isOpen });
  } else if (ev.type === 'state') {
    onState(ev);
  } else if (ev.type === 'close') {
    close();
  } else if (ev.type === 'error') {
    fail(ev.message + ' (' + ev.code + ')');
  }
});

async function start() {
  let response;
  try {
    response = await fetch(CHAT + '/widget/config', { credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    refused = true;
    fail('cannot reach the chat server at ' + CHAT + ' (' + e.message + '); no chat on this page');
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    refused = true;
    fail(((body.error && body.error.message) || 'the chat server refused this page (HTTP ' + response.status + ')') + '; no chat on this page');
    return;
  }
  config = body;
  if (options.badIdentity) fail('data-user-id and data-sig must be an id (A-Z a-z 0-9 _ -, at most 64) and its 64 hex digit signature');
  ui = build();
  render();
  showGreeting();
  // A conversation with news (or awaiting an answer) is watched at once.
  if (saved.conversation && (unread > 0 || saved.waiting)) ensureFrame();
  if (wantOpen) open();
}

let wantOpen = false;
window.SupportChat = {
  version: 1,
  /** Opens the chat (as a click on the bubble would). */
  open() {
    if (ui) open();
    else wantOpen = true;
  },
  close() {
    wantOpen = false;
    close();
  },
  /** {id, sig, name?, email?}: the signed-in visitor (see the README); false if malformed. */
  identify(raw) {
    const checked = identityOf(raw);
    if (!checked) {
      fail('identify() needs {id, sig}: id is 1 to 64 of A-Z a-z 0-9 _ -, sig the 64 hex digits of HMAC-SHA256(secret, id)');
      return false;
    }
    identity = checked;
    post('identify', { identity: identity });
    return true;
  },
  /** on('unread' | 'open' | 'close' | 'error', fn); 'unread' is called at once with the count. */
  on(name, fn) {
    if (!listeners[name] || typeof fn !== 'function') return;
    listeners[name].add(fn);
    if (name === 'unread') fn(unread);
  },
  off(name, fn) {
    if (listeners[name]) listeners[name].delete(fn);
  },
};
window.dispatchEvent(new Event('supportchat:ready'));
if (document.body) start();
else document.addEventListener('DOMContentLoaded', start);
