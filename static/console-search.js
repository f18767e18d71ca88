// Search in message text from the console's search box (GET /api/search):
// under the list of matching ids, the conversations whose messages or
// notes hold the words, best first, with the words marked.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

const t = (key, vars) => I18N.t(key, vars);

export class MessageSearch {
  /** `open(id)` shows a conversation. */
  constructor(root, open) {
    this.root = root;
    this.open = open;
    this.asked = 0; // answers to older asks are dropped
  }

  async run(q) {
    const asked = ++this.asked;
    if (!q) {
      this.root.replaceChildren();
      this.root.hidden = true;
      return;
    }
    let results = [];
    try {
      const response = await fetch('/api/search?limit=20&q=' + encodeURIComponent(q), { credentials: 'same-origin' });
      if (response.ok) results = (await response.json()).results || [];
    } catch (e) {
      results = [];
    }
    if (asked !== this.asked) return;
    this.render(results);
  }

  render(results) {
    const items = results.filter((r) => r && r.conversation && typeof r.conversation.client_id === 'string')
      .map((r) => {
        const id = r.conversation.client_id;
        const text = el('span', { class: 'search-text' }, (Array.isArray(r.highlight) ? r.highlight : [])
          .map((f) => (f.match ? el('mark', { text: f.text }) : document.createTextNode(String(f.text)))));
        const item = el('a', { class: 'search-hit', href: '#' + id, 'data-client-id': id }, [
          el('span', { class: 'conv-id', text: id }),
          r.message && r.message.private ? el('span', { class: 'note-tag', text: t('privateNote') }) : null,
          text,
        ]);
        item.addEventListener('click', (e) => {
          e.preventDefault();
          this.open(id);
        });
        return item;
      });
    this.root.replaceChildren(el('h2', { class: 'search-title', text: t('foundInMessages', { n: items.length }) }), ...items);
    this.root.hidden = false;
  }
}
