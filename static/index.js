// The start page: "Start a chat" carries the page's language into the new
// conversation (/chat/client?lang=zh), and the agents' link carries this
// page's other query parameters (an agent's token) to the console.
import { I18N } from './i18n.mjs';

const startLink = document.getElementById('start-chat');
const consoleLink = document.getElementById('open-console');

function carriedQuery() {
  const params = new URLSearchParams(location.search);
  params.delete('lang'); // the cookie carries the language already
  const query = params.toString();
  return query ? '?' + query : '';
}

function renderStartLink() {
  startLink.href = '/chat/client?' + new URLSearchParams({ lang: I18N.lang });
}

renderStartLink();
I18N.onChange(renderStartLink);
consoleLink.href = '/agent' + carriedQuery();
