// The chat inside the widget (/widget/frame?host=…). It talks to the host
// page's launcher by postMessage, to `host` only and only with the host
// window (widget-core.mjs checks every message), picks the conversation —
// the identified visitor's, or the one this browser remembers for this
// site (localStorage of our origin, partitioned by the host site), or a
// new one — and shows it with the customer's extras. It never takes focus
// unless the visitor opened the panel.
import { I18N } from './i18n.mjs';
import { ChatView } from './chat-view.js';
import { CustomerPanel } from './customer-panel.js';
import { eraseControl } from './erase.js';
import { el } from './dom.js';
import { envelope, hostCommand, trusted, unreadCount } from './widget-core.mjs';

const host = document.body.dataset.host;
const root = document.getElementById('chat-root');
const REMEMBER_KEY = 'support-chat:conversation';

let config = null;
let view = null;
let panel = null;
let current = null; // {id, sig} of the conversation shown
let identity = null; // the identity the host gave, once verified
let open = false;
// What the badge counts: agent messages, and the customer's read mark.
let agentMessages = [];
let readSeq = 0;
let lastState = '';

function tell(type, fields) {
  window.parent.postMessage(envelope(type, fields), host);
}

function remembered() {
  try {
    return localStorage.getItem(REMEMBER_KEY);
  } catch (e) {
    return null; // storage disabled: a new conversation each page view
  }
}

function remember(id) {
  try {
    if (id) localStorage.setItem(REMEMBER_KEY, id);
    else localStorage.removeItem(REMEMBER_KEY);
  } catch (e) {
    // storage disabled
  }
}

/** 128 random bits as 32 hex digits, like the server's own new ids. */
function freshId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Tells the launcher the badge and whether there is a conversation to watch. */
function reportState() {
  if (!view) return;
  const unread = unreadCount(agentMessages, Math.max(readSeq, view.model.readSent || 0));
  const last = view.model.highest();
  const lastMessage = agentMessages.length && agentMessages[agentMessages.length - 1].seq === last;
  const state = { unread, conversation: last > 0, waiting: last > 0 && !lastMessage };
  const key = JSON.stringify(state);
  if (key === lastState) return;
  lastState = key;
  tell('state', state);
}

function onFrame(f) {
  if (f.type === 'welcome') {
    readSeq = Number.isSafeInteger(f.read_seq) ? f.read_seq : 0;
    if (f.last_seq === 0) agentMessages = [];
  } else if (f.type === 'history' || f.type === 'message') {
    const msgs = f.type === 'history' ? (f.messages || []) : [f];
    for (const m of msgs) {
      if (m.from === 'agent' && !agentMessages.some((a) => a.seq === m.seq)) agentMessages.push({ seq: m.seq, from: 'agent' });
    }
    agentMessages.sort((a, b) => a.seq - b.seq);
  }
  if (f.type === 'history') syncIdentityContact();
  panel.onFrame(f);
  reportState();
}

/** The website's name and email for an identified visitor become the contact. */
function syncIdentityContact() {
  if (!identity || !view || !view.ready) return;
  const contact = view.contact || {};
  const frame = { type: 'contact' };
  if (identity.name && contact.name !== identity.name) frame.name = identity.name;
  if (identity.email && contact.email !== identity.email) frame.email = identity.email;
  if (frame.name || frame.email) view.send({ ...frame, lang: I18N.lang });
}

function closeButton() {
  const button = el('button', {
    type: 'button', id: 'close-widget', class: 'button small close-widget', 'data-i18n-aria-label': 'closeChat',
    'data-i18n-title': 'closeChat', text: '×',
  });
  button.addEventListener('click', () => tell('close'));
  return button;
}

function linkTo(conversation) {
  const sig = conversation.sig ? '?sig=' + conversation.sig : '';
  return location.origin + '/chat/client/' + conversation.id + sig;
}

/**
 * The visitor deleted the conversation: an anonymous one starts a new
 * conversation; an identified one keeps their id (the website's), now empty.
 */
function startFresh() {
  if (identity) {
    show({ id: identity.id, sig: identity.sig });
  } else {
    const id = freshId();
    remember(id);
    show({ id });
  }
  if (open) view.input.focus();
}

/** Shows `conversation` ({id, sig?}), replacing whatever was shown. */
function show(conversation) {
  if (view) view.destroy();
  if (panel) panel.destroy();
  current = conversation;
  agentMessages = [];
  readSeq = 0;
  lastState = '';
  panel = new CustomerPanel({
    config,
    link: () => linkTo(conversation),
    onNew: () => {
      if (identity) return; // an identified visitor has exactly one conversation
      startFresh();
    },
    skipKey: 'support-chat:prechat-skipped:' + conversation.id,
  });
  const params = new URLSearchParams();
  if (conversation.sig) params.set('sig', conversation.sig);
  view = new ChatView(root, {
    role: 'customer',
    clientId: conversation.id,
    params,
    autofocus: false, // never take focus from the host page
    canRead: () => open,
    onFrame,
    onRead: () => reportState(),
    leading: [],
    // The DELETE carries the signature shown with it, so with identity
    // verification on the server lets only the visitor's own go.
    trailing: [eraseControl({ url: () => linkTo(conversation), onErased: startFresh }), closeButton()],
    extras: panel.nodes(),
  });
  panel.attach(view);
  if (identity) panel.newButton.hidden = true;
}

function notice(key) {
  if (view) view.destroy();
  if (panel) panel.destroy();
  view = null;
  panel = null;
  current = null;
  root.replaceChildren(el('div', { class: 'banner widget-notice', role: 'alert' }, [
    el('span', { id: 'widget-notice', 'data-i18n': key }), closeButton(),
  ]));
  I18N.apply(root);
}

/** Checks the website's signature with the server before using it. */
async function verified(candidate) {
  if (!config.identity) {
    tell('error', {
      code: 'identity_not_configured',
      message: 'identify(): the chat server has no --identity-secret, so it cannot verify identities; the visitor stays anonymous',
    });
    return false;
  }
  const response = await fetch('/chat/client/' + encodeURIComponent(candidate.id) + '?sig=' + candidate.sig, {
    method: 'HEAD', credentials: 'omit', cache: 'no-store',
  });
  if (response.ok) return true;
  tell('error', {
    code: 'invalid_identity',
    message: 'identify(): the signature (sig) does not match the id (HTTP ' + response.status +
      '); compute hex(HMAC-SHA256(identity secret, id)) on your server',
  });
  return false;
}

/** Picks the conversation for `candidate` (an identity, or null for anonymous). */
async function choose(candidate) {
  if (candidate && await verified(candidate)) {
    identity = candidate;
    show({ id: candidate.id, sig: candidate.sig });
    return;
  }
  if (identity) return; // a later bad identify keeps the verified conversation
  if (config.identity) {
    // Every conversation needs the website's signature here.
    notice(candidate ? 'identityRefused' : 'identityRequired');
    return;
  }
  let id = remembered();
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) id = freshId();
  remember(id);
  if (!current || current.id !== id) show({ id });
}

function setOpen(value, focus) {
  open = value;
  document.body.dataset.open = value ? 'true' : 'false';
  if (!view) return;
  if (value) {
    if (focus) view.input.focus();
    view.scheduleRead();
  }
}

async function onCommand(cmd) {
  switch (cmd.type) {
    case 'init':
      config = await fetch('/widget/config', { credentials: 'omit', cache: 'no-store' }).then((r) => r.json());
      setOpen(cmd.open, cmd.open);
      await choose(cmd.identity);
      setOpen(open, open);
      break;
    case 'identify':
      if (config && (!identity || identity.id !== cmd.identity.id)) await choose(cmd.identity);
      break;
    case 'open': setOpen(true, cmd.focus); break;
    case 'close': setOpen(false, false); break;
    default: break;
  }
}

// Commands run one at a time, in order.
let queue = Promise.resolve();
window.addEventListener('message', (e) => {
  if (!trusted(e, host, window.parent)) return;
  const cmd = hostCommand(e.data);
  if (!cmd) return;
  queue = queue.then(() => onCommand(cmd)).catch((err) => tell('error', { code: 'frame_failed', message: String(err) }));
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && open) tell('close');
});
tell('ready');
