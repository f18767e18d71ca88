// The assignee of the open conversation in an agent's chat header: who
// has it, and a menu to take it, give it to a colleague (a transfer, with
// an optional private note) or put it back in the queue. It speaks through
// the view's socket (`assign` frames, PROTOCOL.md) and learns the assignee
// from `welcome` and `assignee` frames.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

const t = (key, vars) => I18N.t(key, vars);

/** The team, fetched once per page: [{id, name}] of agents who can take work. */
let teamPromise = null;
function team() {
  if (!teamPromise) {
    teamPromise = fetch('/api/agents', { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : { agents: [] }))
      .then((body) => (Array.isArray(body.agents) ? body.agents : [])
        .filter((a) => a && a.active && !a.disabled && Number.isSafeInteger(a.id)))
      .catch(() => {
        teamPromise = null; // try again next time
        return [];
      });
  }
  return teamPromise;
}

export class AssignControl {
  /** `send(frame)` sends on the conversation's socket; `me()` is {id, name} or null. */
  constructor(send, me) {
    this.send = send;
    this.me = me;
    this.assignee = null;
    this.label = el('span', { id: 'assignee', class: 'assignee' });
    this.select = el('select', { id: 'assign', class: 'assign-select', 'data-i18n-title': 'assignLabel' });
    this.note = el('input', {
      id: 'assign-note', class: 'field assign-note', type: 'text', maxlength: '4000', hidden: true,
      'data-i18n-placeholder': 'transferNotePlaceholder',
    });
    this.transferButton = el('button', {
      type: 'button', id: 'transfer', class: 'button small', 'data-i18n': 'transfer', hidden: true,
    });
    this.element = el('span', { class: 'assign-box' }, [this.label, this.select, this.note, this.transferButton]);
    this.transferButton.addEventListener('click', () => this.submitTransfer());
    this.select.addEventListener('focus', () => this.fillOptions());
    this.select.addEventListener('change', () => this.onChange());
    this.note.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.submitTransfer();
      if (e.key === 'Escape') this.reset();
    });
    this.render();
  }

  /** The assignee as the server says it: {id, name} or null. */
  set(assignee) {
    this.assignee = assignee && Number.isSafeInteger(assignee.id) ? assignee : null;
    this.reset();
  }

  reset() {
    this.note.hidden = true;
    this.transferButton.hidden = true;
    this.note.value = '';
    this.pendingTarget = null;
    this.render();
  }

  render() {
    const a = this.assignee;
    const me = this.me();
    this.label.dataset.assigned = a ? 'true' : 'false';
    this.label.textContent = a
      ? t('assigneeIs', { name: me && a.id === me.id ? t('me') : a.name })
      : t('unassigned');
    this.fillOptions();
  }

  async fillOptions() {
    const me = this.me();
    const agents = await team();
    const options = [el('option', { value: '', text: t('assignLabel') })];
    if (me && (!this.assignee || this.assignee.id !== me.id) && me.id !== 0) {
      options.push(el('option', { value: String(me.id), text: t('takeIt') }));
    }
    for (const a of agents) {
      if ((this.assignee && a.id === this.assignee.id) || (me && a.id === me.id)) continue;
      options.push(el('option', { value: String(a.id), text: t('assignTo', { name: a.name }) }));
    }
    if (this.assignee) options.push(el('option', { value: 'none', text: t('backToQueue') }));
    const chosen = this.select.value;
    this.select.replaceChildren(...options);
    this.select.value = options.some((o) => o.value === chosen) ? chosen : '';
  }

  onChange() {
    const value = this.select.value;
    if (!value) return;
    if (value === 'none') {
      this.send({ type: 'assign', agent_id: null });
      this.select.value = '';
      return;
    }
    const id = Number(value);
    const me = this.me();
    if (this.assignee && !(me && id === me.id)) {
      // A transfer: the colleague may get a private note with it.
      this.pendingTarget = id;
      this.note.hidden = false;
      this.transferButton.hidden = false;
      this.note.focus();
      return;
    }
    this.send({ type: 'assign', agent_id: id });
    this.select.value = '';
  }

  submitTransfer() {
    if (this.pendingTarget === null) return;
    const frame = { type: 'assign', agent_id: this.pendingTarget };
    const note = this.note.value.trim();
    if (note) frame.note = note;
    this.send(frame);
    this.select.value = '';
    this.reset();
  }
}
