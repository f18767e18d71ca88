// The team page (/agent/team): everyone renames themselves and manages
// their own API tokens; admins also invite agents, change roles, disable
// and re-invite. Everything goes through the JSON API (/api/me,
// /api/agents, /api/tokens); user text is only ever set with textContent.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

const $ = (id) => document.getElementById(id);
const errorBox = $('team-error');
const state = { me: null, agents: [], tokens: [], email: null };

/** A JSON API call; a refusal becomes an Error with the server's message. */
async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.href = '/agent/login?next=' + encodeURIComponent('/agent/team');
    throw new Error('logged out');
  }
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(data && data.error ? data.error.message : String(response.status));
  return data;
}

/** Runs `action`, showing what went wrong (or clearing the last error). */
async function attempt(action) {
  try {
    await action();
    errorBox.textContent = '';
  } catch (e) {
    errorBox.textContent = e.message;
  }
}

function usedText(token) {
  return token.last_used
    ? I18N.t('tokenUsed', { when: I18N.formatRelative(token.last_used) })
    : I18N.t('tokenNeverUsed');
}

function button(label, onClick, attrs) {
  const b = el('button', { type: 'button', class: 'link-button', text: I18N.t(label), ...attrs });
  b.addEventListener('click', () => attempt(onClick));
  return b;
}

function renderTokens() {
  $('tokens').replaceChildren(...state.tokens.map((token) => el('li', { class: 'team-row', 'data-token': token.id }, [
    el('span', { class: 'team-name', text: token.name }),
    el('span', { class: 'team-meta', text: usedText(token) }),
    button('deleteToken', async () => {
      await api('DELETE', '/api/tokens/' + token.id);
      await loadTokens();
    }, { 'data-action': 'delete-token' }),
  ])));
}

function memberRow(agent) {
  const tags = [I18N.t(agent.role === 'admin' ? 'roleAdmin' : 'roleAgent')];
  if (!agent.active) tags.push(I18N.t('memberPending'));
  if (agent.disabled) tags.push(I18N.t('memberDisabled'));
  const change = (body) => async () => {
    await api('PATCH', '/api/agents/' + agent.id, body);
    await loadTeam();
  };
  return el('li', { class: 'team-row', 'data-agent': agent.id }, [
    el('span', { class: 'team-name', text: agent.name }),
    el('span', { class: 'team-meta', text: agent.email + ' · ' + tags.join(' · ') }),
    button(agent.role === 'admin' ? 'makeAgent' : 'makeAdmin',
      change({ role: agent.role === 'admin' ? 'agent' : 'admin' }), { 'data-action': 'role' }),
    button(agent.disabled ? 'enableMember' : 'disableMember',
      change({ disabled: !agent.disabled }), { 'data-action': 'disable' }),
    capacityField(agent),
    agent.disabled ? null : button('reinviteMember', async () => {
      const invite = await api('POST', '/api/agents/' + agent.id + '/invite');
      showInvite(agent.name, invite.invite_url);
    }, { 'data-action': 'reinvite' }),
  ]);
}

/** How many open conversations automatic assignment gives the agent. */
function capacityField(agent) {
  const input = el('input', {
    type: 'number', min: '0', max: '1000', class: 'field capacity', value: String(agent.capacity ?? 10),
    'data-action': 'capacity', title: I18N.t('capacityLabel'), 'aria-label': I18N.t('capacityLabel'),
  });
  input.addEventListener('change', () => attempt(async () => {
    await api('PUT', '/api/agents/' + agent.id + '/capacity', { capacity: Number(input.value) });
    await loadTeam();
  }));
  return el('label', { class: 'team-meta capacity-box' }, [el('span', { text: I18N.t('capacity') }), input]);
}

function showInvite(name, url) {
  const box = $('invite-link');
  box.textContent = I18N.t('inviteLink', { name, url });
  box.dataset.url = url;
  box.hidden = false;
}

function render() {
  if (!state.me) return;
  renderTokens();
  $('admin').hidden = state.me.role !== 'admin';
  $('agents').replaceChildren(...state.agents.map(memberRow));
  renderEmail();
}

// Admins see whether email is on and which emails were given up on.
function renderEmail() {
  if (!state.email) return;
  $('email-status').textContent = I18N.t(state.email.on ? 'emailOn' : 'emailOff');
  const failed = state.email.failed.map((f) => el('li', {
    'data-email-failed': f.client_id,
    text: I18N.t('emailFailedItem', {
      kind: f.kind, recipient: f.recipient, client: f.client_id,
      attempts: f.attempts, error: f.last_error || '',
    }),
  }));
  const none = el('li', { text: I18N.t('emailNoFailures') });
  $('email-failed').replaceChildren(...(failed.length ? failed : [none]));
}

async function loadTokens() {
  state.tokens = (await api('GET', '/api/tokens')).tokens;
  render();
}

async function loadTeam() {
  state.me = await api('GET', '/api/me');
  state.agents = state.me.role === 'admin' ? (await api('GET', '/api/agents')).agents : [];
  state.email = state.me.role === 'admin' ? await api('GET', '/api/email') : null;
  $('my-name').value = state.me.name;
  $('waiting-alerts').checked = (await api('GET', '/api/me/alerts')).waiting;
  render();
}

$('rename').addEventListener('submit', (ev) => {
  ev.preventDefault();
  attempt(async () => {
    await api('PATCH', '/api/agents/' + state.me.id, { name: $('my-name').value });
    await loadTeam();
  });
});

$('waiting-alerts').addEventListener('change', (ev) => {
  attempt(() => api('PUT', '/api/me/alerts', { waiting: ev.target.checked }));
});

$('new-token').addEventListener('submit', (ev) => {
  ev.preventDefault();
  attempt(async () => {
    const made = await api('POST', '/api/tokens', { name: $('token-name').value });
    const box = $('new-token-value');
    box.textContent = I18N.t('tokenOnce', { token: made.token });
    box.dataset.token = made.token;
    box.hidden = false;
    $('token-name').value = '';
    await loadTokens();
  });
});

$('invite').addEventListener('submit', (ev) => {
  ev.preventDefault();
  attempt(async () => {
    const name = $('invite-name').value;
    const made = await api('POST', '/api/agents', {
      name, email: $('invite-email').value, role: $('invite-role').value,
    });
    showInvite(name, made.invite_url);
    $('invite').reset();
    await loadTeam();
  });
});

I18N.onChange(render);
attempt(async () => {
  await loadTeam();
  await loadTokens();
});
