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

const ACTIVE_EVERY_MS = 30000; // at most one `active` frame per this long

/**
 * Our availability in the console bar (online / away, chosen here; the
 * server may show us away after idle time) and the team's roster.
 * `send(frame)` goes on the inbox socket.
 */
export class AvailabilityBox {
  constructor(select, roster, send) {
    this.select = select;
    this.roster = roster;
    this.send = send;
    this.agents = [];
    this.me = null;
    this.lastActive = 0;
    select.addEventListener('change', () => this.send({ type: 'status', value: select.value }));
    for (const kind of ['pointerdown', 'keydown', 'focus']) {
      window.addEventListener(kind, () => this.activity(), { passive: true, capture: true });
    }
  }

  /** User input: tells the server we are here (ends an idle away). */
  activity() {
    const now = Date.now();
    if (now - this.lastActive < ACTIVE_EVERY_MS) return;
    if (this.send({ type: 'active' })) this.lastActive = now;
  }

  setMe(id) {
    this.me = id;
    this.render();
  }

  /** An `agents` inbox frame. */
  setRoster(agents) {
    this.agents = Array.isArray(agents) ? agents.filter((a) => a && typeof a.name === 'string') : [];
    this.render();
  }

  render() {
    const mine = this.agents.find((a) => a.id === this.me);
    if (mine) {
      this.select.value = mine.status === 'away' ? 'away' : 'online';
      this.select.dataset.status = mine.status;
    }
    for (const option of this.select.options) option.textContent = t(option.value === 'away' ? 'statusAway' : 'statusOnline');
    this.roster.replaceChildren(...this.agents.filter((a) => a.id !== this.me).map((a) => el('li', {
      class: 'roster-agent', 'data-status': a.status, 'data-agent-id': String(a.id),
      title: t({ online: 'statusOnline', away: 'statusAway' }[a.status] || 'statusOffline'),
    }, [el('span', { class: 'roster-dot' }), el('span', { class: 'roster-name', text: a.name })])));
  }
}
