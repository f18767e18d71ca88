// The shared desk on the team page (/agent/team): every agent manages the
// team's saved replies (`/shortcut` in the composer); admins define the
// labels agents put on conversations. Through /api/replies and /api/labels;
// user text only through textContent.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';
import { labelChip } from './label-control.js';

const $ = (id) => document.getElementById(id);
const t = (key, vars) => I18N.t(key, vars);

async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(data && data.error ? data.error.message : String(response.status));
  return data;
}

async function attempt(action) {
  try {
    await action();
    $('desk-error').textContent = '';
  } catch (e) {
    $('desk-error').textContent = e.message;
  }
}

const state = { admin: false, replies: [], labels: [] };

function deleteButton(label, onClick) {
  const b = el('button', { type: 'button', class: 'link-button', text: t(label) });
  b.addEventListener('click', () => attempt(onClick));
  return b;
}

function render() {
  $('replies').replaceChildren(...state.replies.map((r) => el('li', { class: 'team-row', 'data-reply': String(r.id) }, [
    el('span', { class: 'team-name', text: '/' + r.shortcut }),
    el('span', { class: 'team-meta', text: r.name + ' · ' + r.text }),
    deleteButton('deleteReply', async () => {
      await api('DELETE', '/api/replies/' + r.id);
      await load();
    }),
  ])));
  $('labels').replaceChildren(...state.labels.map((l) => el('li', { class: 'team-row', 'data-label': String(l.id) }, [
    labelChip(l),
    state.admin ? deleteButton('deleteLabel', async () => {
      await api('DELETE', '/api/labels/' + l.id);
      await load();
    }) : null,
  ])));
  $('new-label').hidden = !state.admin;
}

async function load() {
  const [me, replies, labels] = await Promise.all([api('GET', '/api/me'), api('GET', '/api/replies'), api('GET', '/api/labels')]);
  state.admin = me.role === 'admin';
  state.replies = replies.replies;
  state.labels = labels.labels;
  render();
}

$('new-reply').addEventListener('submit', (ev) => {
  ev.preventDefault();
  attempt(async () => {
    await api('POST', '/api/replies', {
      shortcut: $('reply-shortcut').value, name: $('reply-name').value, text: $('reply-text').value,
    });
    for (const id of ['reply-shortcut', 'reply-name', 'reply-text']) $(id).value = '';
    await load();
  });
});

$('new-label').addEventListener('submit', (ev) => {
  ev.preventDefault();
  attempt(async () => {
    await api('POST', '/api/labels', { name: $('label-name').value, color: $('label-color').value });
    $('label-name').value = '';
    await load();
  });
});

attempt(load);
