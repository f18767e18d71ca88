// Landing page: sends an agent to /chat/server/{id} for the id typed in,
// or to the console at /agent. (No inline script: the page runs under a
// strict Content-Security-Policy.) i18n.js translates the page.
'use strict';

(() => {
  // Same rule as the server's client ids (PROTOCOL.md).
  const VALID_ID = /^[A-Za-z0-9_-]{1,64}$/;

  const form = document.getElementById('agent-form');
  const field = document.getElementById('agent-id');
  const error = document.getElementById('agent-error');
  const consoleLink = document.getElementById('open-console');

  /** This page's query parameters (an agent's token) minus its language. */
  function carriedQuery() {
    const params = new URLSearchParams(location.search);
    params.delete('lang'); // the cookie carries the language already
    const query = params.toString();
    return query ? '?' + query : '';
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = field.value.trim();
    if (!VALID_ID.test(id)) {
      error.hidden = false;
      field.setAttribute('aria-invalid', 'true');
      field.focus();
      return;
    }
    location.href = '/chat/server/' + encodeURIComponent(id) + carriedQuery();
  });

  field.addEventListener('input', () => {
    error.hidden = true;
    field.removeAttribute('aria-invalid');
  });

  consoleLink.href = '/agent' + carriedQuery();
})();
