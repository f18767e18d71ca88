// The chat page (/chat/client/{id}, /chat/server/{id}): one ChatView for the
// whole page, with the language switcher (static in the page, so it works
// before the view exists) in its header.
import { ChatView } from './chat-view.js';

const body = document.body;
const langBox = document.getElementById('lang-box');
new ChatView(document.getElementById('chat-root'), {
  role: body.dataset.role,
  clientId: body.dataset.clientId,
  ownsPage: true,
  trailing: langBox ? [langBox] : [],
});
