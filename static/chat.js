// The chat page (/chat/client/{id}, /chat/server/{id}): one ChatView for the
// whole page, with the language switcher (static in the page, so it works
// before the view exists) in its header; on the customer's page also the
// control that deletes the conversation.
import { ChatView } from './chat-view.js';
import { eraseControl } from './erase.js';

const body = document.body;
const langBox = document.getElementById('lang-box');
// Customers may delete their own conversation (after confirming).
const erase = body.dataset.role === 'customer' ? [eraseControl()] : [];
new ChatView(document.getElementById('chat-root'), {
  role: body.dataset.role,
  clientId: body.dataset.clientId,
  ownsPage: true,
  trailing: [...erase, ...(langBox ? [langBox] : [])],
});
