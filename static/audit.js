// The audit log page (/agent/audit, admins): pages through /api/audit,
// newest first. Every value is set with textContent.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

const $ = (id) => document.getElementById(id);
let cursor = null;

async function load() {
  const query = new URLSearchParams({ limit: '100' });
  if (cursor) query.set('cursor', cursor);
  const response = await fetch('/api/audit?' + query, { credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) {
    location.href = '/agent/login?next=' + encodeURIComponent('/agent/audit');
    return;
  }
  const data = await response.json();
  if (!response.ok) {
    $('audit-error').textContent = data && data.error ? data.error.message : String(response.status);
    return;
  }
  $('audit-rows').append(...data.items.map((entry) => el('tr', { 'data-action': entry.action }, [
    el('td', { text: I18N.formatDateTime(entry.at) }),
    el('td', { text: entry.actor }),
    el('td', { text: entry.action }),
    el('td', { text: entry.target || '' }),
    el('td', { text: entry.detail || '' }),
    el('td', { text: entry.ip || '' }),
  ])));
  cursor = data.next_cursor;
  $('audit-more').hidden = !cursor;
}

$('audit-more').addEventListener('click', () => load());
load();
