// Landing page: sends an agent to /chat/server/{id} for the id typed in.
// (No inline script: the page runs under a strict Content-Security-Policy.)
'use strict';

(() => {
  // Same rule as the server's client ids (PROTOCOL.md).
  const VALID_ID = /^[A-Za-z0-9_-]{1,64}$/;

  const form = document.getElementById('agent-form');
  const field = document.getElementById('agent-id');
  const error = document.getElementById('agent-error');

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = field.value.trim();
    if (!VALID_ID.test(id)) {
      error.hidden = false;
      field.setAttribute('aria-invalid', 'true');
      field.focus();
      return;
    }
    // Query parameters of this page (an agent's token, for instance) are
    // carried over to the conversation page.
    location.href = '/chat/server/' + encodeURIComponent(id) + location.search;
  });

  field.addEventListener('input', () => {
    error.hidden = true;
    field.removeAttribute('aria-invalid');
  });
})();
