// ChatView's message bubbles: built from stored messages, pending
// outbox entries and events, labelled in the current language, and put in
// seq order in the list (pending ones below every stored one).
import { I18N } from './i18n.mjs';
import { eventText, itemKind } from './events.mjs';
import { fileUrl, formatSize, isImage } from './attachments.mjs';
import { agentOf, senderOf } from './people.mjs';
import { splitLinks } from './text.mjs';
import { el } from './dom.js';

const t = (key, vars) => I18N.t(key, vars);

/** Message text as nodes: http(s) URLs become links that open a new tab. */
function textNodes(text) {
  return splitLinks(text).map((part) => (part.href
    ? el('a', { href: part.href, target: '_blank', rel: 'noopener noreferrer nofollow', text: part.text })
    : document.createTextNode(part.text)));
}

export const bubbles = {
  /** A bubble: meta line (sender, time/state), `text` and its files. */
  createBubble(from, text, attachments) {
    const files = Array.isArray(attachments) && attachments.length ? this.filesBlock(attachments) : null;
    const bubble = el('div', { class: 'msg ' + (from === this.role ? 'mine' : 'theirs'), 'data-from': from }, [
      el('div', { class: 'meta' }, [el('span', { class: 'sender' }), el('time', { class: 'time' })]),
      text ? el('div', { class: 'text' }, textNodes(text)) : el('div', { class: 'text', hidden: true }),
      files,
    ]);
    this.labelBubble(bubble);
    return bubble;
  },

  /**
   * A message's files: images as thumbnails opening full size, others as
   * a named download with its size. Names only ever through textContent.
   */
  filesBlock(attachments) {
    const url = (a, thumbnail) => fileUrl(this.role, this.clientId, a, thumbnail, this.params);
    const block = el('div', { class: 'files' }, attachments.map((a) => {
      const name = typeof a.name === 'string' ? a.name : '';
      if (isImage(a)) {
        const img = el('img', { class: 'thumb', src: url(a, true), alt: name, loading: 'lazy' });
        return el('a', {
          class: 'file image', href: url(a, false), target: '_blank', rel: 'noopener',
          'data-i18n-title': 'openImage', 'data-i18n-var-name': name,
        }, [img]);
      }
      return el('a', {
        class: 'file download', href: url(a, false), download: name,
        'data-i18n-title': 'download', 'data-i18n-var-name': name, 'data-i18n-var-size': formatSize(a.size),
      }, [el('span', { class: 'file-name', text: name }), el('span', { class: 'file-size', text: formatSize(a.size) })]);
    }));
    I18N.apply(block);
    return block;
  },

  /** Sender and time (or sending/failed state) in the current language. */
  labelBubble(bubble) {
    const from = bubble.dataset.from;
    const author = bubble.dataset.authorId
      ? { id: Number(bubble.dataset.authorId), name: bubble.dataset.authorName }
      : null;
    const sender = senderOf(from, author, this.role, this.me);
    bubble.querySelector('.sender').textContent = sender.me ? t('me') : sender.name || t(sender.role);
    const tag = bubble.querySelector('.note-tag');
    if (tag) tag.textContent = t('privateNote');
    if (bubble.dataset.event) {
      const line = eventText(JSON.parse(bubble.dataset.event), t);
      if (line) bubble.querySelector('.text').textContent = line;
    }
    const time = bubble.querySelector('.time');
    if (bubble.classList.contains('pending')) {
      time.textContent = t('sending');
    } else if (bubble.classList.contains('failed')) {
      time.textContent = t('failed', { reason: this.errorText(bubble.dataset.errorCode, bubble.dataset.errorMessage) });
    } else if (time.dateTime) {
      time.textContent = I18N.formatTime(time.dateTime);
      time.title = I18N.formatDateTime(time.dateTime);
    }
  },

  /** Makes `bubble` show stored message `m` (also turns a pending one real). */
  fillStored(bubble, m) {
    bubble.classList.remove('pending', 'failed');
    bubble.dataset.seq = String(m.seq);
    if (typeof m.id === 'string') bubble.dataset.id = m.id;
    const author = agentOf(m.author);
    if (author) {
      bubble.dataset.authorId = String(author.id);
      bubble.dataset.authorName = author.name;
    }
    bubble.querySelector('.time').dateTime = typeof m.ts === 'string' ? m.ts : '';
    this.labelBubble(bubble);
  },

  /** Notes get a tag and their own style; events are a centred line. */
  markKind(bubble, m) {
    const kind = itemKind(m);
    if (kind === 'event') {
      bubble.classList.add('event');
      bubble.dataset.event = JSON.stringify(m.event);
    } else if (kind === 'note' && !bubble.classList.contains('note')) {
      bubble.classList.add('note');
      bubble.querySelector('.meta').append(el('span', { class: 'note-tag' }));
    }
  },

  createPendingBubble(entry) {
    const bubble = this.createBubble(this.role, entry.text, entry.attachments);
    if (entry.private) this.markKind(bubble, { private: true });
    bubble.classList.add('pending');
    bubble.dataset.id = entry.id;
    this.labelBubble(bubble);
    this.pendingEls.set(entry.id, bubble);
    this.list.appendChild(bubble); // pending ones stay below every stored message, in order
    return bubble;
  },

  /** Removes every stored (and failed) bubble; pending ones stay. */
  clearStored() {
    for (const bubble of this.list.querySelectorAll('.msg:not(.pending)')) bubble.remove();
    this.seenEl.remove();
    this.seqEls.clear();
    this.model.clear();
    this.olderInFlight = null;
  },

  /**
   * Shows one stored message (live, from history, or an acknowledgement).
   * `olderPage` is true for messages fetched with history_before.
   */
  acceptMessage(m, olderPage) {
    const { result, index, acked } = this.model.accept(m, olderPage);
    const pendingEl = acked ? this.pendingEls.get(acked.id) : null;
    if (acked) {
      this.pendingEls.delete(acked.id);
      this.saveOutbox();
    }
    if (result !== 'added') {
      if (pendingEl) pendingEl.remove(); // already shown, or shown when scrolled back: never twice
      return;
    }
    const bubble = pendingEl || this.createBubble(m.from, m.text, m.attachments);
    this.markKind(bubble, m);
    this.fillStored(bubble, m);
    const seqs = this.model.seqs;
    const next = index + 1 < seqs.length ? this.seqEls.get(seqs[index + 1]) : this.list.querySelector('.msg.pending');
    this.list.insertBefore(bubble, next || null);
    this.seqEls.set(m.seq, bubble);
    if (!olderPage && m.from !== this.role && document.hidden) this.bumpUnread();
  },
};
