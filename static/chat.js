// The chat page (/chat/client/{id}, /chat/server/{id}): one ChatView for the
// whole page, with the language switcher (static in the page, so it works
// before the view exists) in its header. A customer also gets the extras
// of customer-panel.js (greeting, pre-chat form, offline note, new
// conversation, copy link), configured by /widget/config, and the control
// that deletes the conversation (after confirming).
import { ChatView } from './chat-view.js';
import { CustomerPanel } from './customer-panel.js';
import { eraseControl } from './erase.js';
import { pageParams } from './dom.js';

const body = document.body;
const langBox = document.getElementById('lang-box');
const role = body.dataset.role;
const clientId = body.dataset.clientId;
// Customers may delete their own conversation (after confirming).
const erase = role === 'customer' ? [eraseControl()] : [];

async function customerPanel() {
  const config = await fetch('/widget/config', { cache: 'no-store' }).then((r) => r.json()).catch(() => ({}));
  const params = pageParams();
  const signed = params.has('sig');
  const panel = new CustomerPanel({
    config,
    // The address of this conversation (with its signature, if any).
    link: () => location.origin + location.pathname + (signed ? '?sig=' + encodeURIComponent(params.get('sig')) : ''),
    onNew: () => location.assign('/chat/client?new=1'),
    skipKey: 'support-chat:prechat-skipped:' + clientId,
  });
  // A signed conversation is the website's to start; there is no other.
  panel.newButton.hidden = signed || Boolean(config.identity);
  return panel;
}

const panel = role === 'customer' ? await customerPanel() : null;
const view = new ChatView(document.getElementById('chat-root'), {
  role,
  clientId,
  ownsPage: true,
  trailing: [...erase, ...(langBox ? [langBox] : [])],
  extras: panel ? panel.nodes() : [],
  onFrame: panel ? (f) => panel.onFrame(f) : null,
});
if (panel) panel.attach(view);
