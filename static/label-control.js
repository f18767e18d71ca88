// A conversation's labels in an agent's chat header: chips with a remove
// button, and a menu to add one of the labels admins defined.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

const t = (key, vars) => I18N.t(key, vars);

/** A coloured chip for `label`; with `onRemove`, a × button too. */
export function labelChip(label, onRemove) {
  const chip = el('span', { class: 'label-chip', 'data-label-id': String(label.id), text: label.name });
  chip.style.background = /^#[0-9a-f]{6}$/i.test(label.color) ? label.color : '#6b7280';
  if (onRemove) {
    const remove = el('button', { type: 'button', text: '×', 'aria-label': t('removeLabel', { name: label.name }) });
    remove.addEventListener('click', onRemove);
    chip.append(remove);
  }
  return chip;
}

async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
  if (body) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  return response.ok ? response.json() : null;
}

export class LabelControl {
  constructor(clientId) {
    this.clientId = clientId;
    this.labels = [];
    this.all = [];
    this.chips = el('span', { id: 'conv-labels', class: 'conv-labels' });
    this.select = el('select', { id: 'add-label', class: 'assign-select', 'aria-label': t('addLabel') });
    this.element = el('span', { class: 'assign-box' }, [this.chips, this.select]);
    this.select.addEventListener('change', () => {
      const id = Number(this.select.value);
      this.select.value = '';
      if (id) this.change({ add: [id] });
    });
    this.load();
  }

  async load() {
    const [all, page] = await Promise.all([
      api('GET', '/api/labels'),
      api('GET', '/api/conversations?search=' + encodeURIComponent(this.clientId) + '&limit=200'),
    ]);
    this.all = all && Array.isArray(all.labels) ? all.labels : [];
    const mine = page && Array.isArray(page.items) ? page.items.find((s) => s.client_id === this.clientId) : null;
    this.labels = mine && Array.isArray(mine.labels) ? mine.labels : [];
    this.render();
  }

  async change(body) {
    const answer = await api('POST', '/api/conversations/' + encodeURIComponent(this.clientId) + '/labels', body);
    if (answer && Array.isArray(answer.labels)) this.labels = answer.labels;
    this.render();
  }

  render() {
    this.chips.replaceChildren(...this.labels.map((l) => labelChip(l, () => this.change({ remove: [l.id] }))));
    const has = new Set(this.labels.map((l) => l.id));
    this.select.replaceChildren(
      el('option', { value: '', text: t('addLabelTo') }),
      ...this.all.filter((l) => !has.has(l.id)).map((l) => el('option', { value: String(l.id), text: l.name })),
    );
    this.select.hidden = this.all.length === 0;
  }
}
