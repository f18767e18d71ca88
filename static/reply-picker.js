// The saved-reply picker of an agent's composer: `/` then a shortcut or a
// name shows the team's saved replies; arrows choose, Enter or Tab (or a
// click) puts the reply's text in the composer, Escape closes.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';
import { slashQuery, suggest } from './replies.mjs';

const t = (key, vars) => I18N.t(key, vars);

export class ReplyPicker {
  /** `input` is the composer's textarea; `onPick()` runs after an insert. */
  constructor(input, onPick) {
    this.input = input;
    this.onPick = onPick;
    this.replies = null; // loaded on the first `/`
    this.matches = [];
    this.index = 0;
    this.element = el('ul', { id: 'reply-suggestions', class: 'reply-suggestions', role: 'listbox', hidden: true });
    this.element.addEventListener('mousedown', (e) => e.preventDefault()); // keep the focus
    this.element.addEventListener('click', (e) => {
      const item = e.target.closest('[data-index]');
      if (item) this.pick(Number(item.dataset.index));
    });
  }

  /** The composer's text changed. */
  async update() {
    const query = slashQuery(this.input.value);
    if (query === null) return this.close();
    if (!this.replies) await this.load();
    if (slashQuery(this.input.value) !== query) return undefined; // typed on meanwhile
    this.matches = suggest(this.replies, query);
    this.index = 0;
    return this.render();
  }

  async load() {
    try {
      const response = await fetch('/api/replies', { credentials: 'same-origin', cache: 'no-store' });
      this.replies = response.ok ? (await response.json()).replies : [];
    } catch (e) {
      this.replies = [];
    }
    setTimeout(() => { this.replies = null; }, 60000); // others may add some
  }

  /** A key in the composer; true when the picker took it. */
  keydown(e) {
    if (this.element.hidden || !this.matches.length) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const step = e.key === 'ArrowDown' ? 1 : -1;
      this.index = (this.index + step + this.matches.length) % this.matches.length;
      this.render();
    } else if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
      this.pick(this.index);
    } else if (e.key === 'Escape') {
      this.close();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  pick(index) {
    const reply = this.matches[index];
    if (!reply) return;
    this.input.value = reply.text;
    this.close();
    this.onPick();
  }

  close() {
    this.matches = [];
    this.element.hidden = true;
    this.element.replaceChildren();
  }

  render() {
    this.element.hidden = false;
    if (!this.matches.length) {
      this.element.replaceChildren(el('li', { class: 'reply-none', text: t('noSavedReplies') }));
      return;
    }
    this.element.replaceChildren(...this.matches.map((r, i) => el('li', {
      class: 'reply-option', role: 'option', 'data-index': String(i), 'data-shortcut': r.shortcut,
      'aria-selected': i === this.index ? 'true' : 'false',
    }, [
      el('span', { class: 'reply-shortcut', text: '/' + r.shortcut }),
      el('span', { class: 'reply-name', text: r.name }),
      el('span', { class: 'reply-text', text: r.text }),
    ])));
  }
}
