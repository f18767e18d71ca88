// The console's share of routing (issue 13): the Mine / Unassigned / All
// tabs with their counts, and the alert an agent gets when a colleague (or
// automatic assignment) gives them a conversation.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

const t = (key, vars) => I18N.t(key, vars);
const ALERT_MS = 20000;
const VIEWS = ['mine', 'unassigned', 'all'];

/** The tabs: `onChange(view)` on a click; counts from list and views frames. */
export class ViewTabs {
  constructor(root, onChange) {
    this.counts = { mine: 0, unassigned: 0, all: 0 };
    this.buttons = VIEWS.map((view) => {
      const count = el('span', { class: 'view-count', 'data-count': '0' });
      const button = el('button', {
        type: 'button', id: 'view-' + view, class: 'filter view-tab', 'data-view': view, 'aria-pressed': 'false',
      }, [el('span', { class: 'view-name' }), count]);
      button.addEventListener('click', () => onChange(view));
      return button;
    });
    root.replaceChildren(...this.buttons);
  }

  select(view) {
    for (const b of this.buttons) b.setAttribute('aria-pressed', b.dataset.view === view ? 'true' : 'false');
  }

  setCounts(views) {
    if (!views) return;
    for (const view of VIEWS) this.counts[view] = Number.isSafeInteger(views[view]) ? views[view] : 0;
    this.render();
  }

  render() {
    const keys = { mine: 'viewMine', unassigned: 'viewUnassigned', all: 'viewAll' };
    for (const b of this.buttons) {
      const view = b.dataset.view;
      b.querySelector('.view-name').textContent = t(keys[view]);
      const count = b.querySelector('.view-count');
      count.dataset.count = String(this.counts[view]);
      count.textContent = String(this.counts[view]);
    }
  }
}

/** Alerts for conversations given to this agent; `open(id)` shows one. */
export class AssignedAlerts {
  constructor(root, open) {
    this.root = root;
    this.open = open;
  }

  /** An `assigned` inbox frame. */
  show(f) {
    const s = f.conversation;
    if (!s || typeof s.client_id !== 'string') return;
    const by = f.by && typeof f.by.name === 'string' ? f.by.name : null;
    const text = by ? t('assignedAlert', { by, id: s.client_id }) : t('assignedAlertAuto', { id: s.client_id });
    const open = el('button', { type: 'button', class: 'button small', text: t('openConversation') });
    const close = el('button', { type: 'button', class: 'link-button', text: t('dismiss') });
    const alert = el('div', { class: 'banner assigned-alert', role: 'alert', 'data-client-id': s.client_id }, [
      el('span', { class: 'assigned-text', text }),
      typeof f.note === 'string' ? el('span', { class: 'assigned-note', text: t('transferNote', { note: f.note }) }) : null,
      open, close,
    ]);
    const dismiss = () => alert.remove();
    open.addEventListener('click', () => {
      dismiss();
      this.open(s.client_id);
    });
    close.addEventListener('click', dismiss);
    setTimeout(dismiss, ALERT_MS);
    this.root.append(alert);
  }
}
