// ChatView's elements: header (titles, presence, connection, the agents'
// controls), banners, the message list, hints and the composer. `build`
// makes them once; the other groups fill them in.
import { I18N } from './i18n.mjs';
import { AssignControl } from './assign-control.js';
import { ReplyPicker } from './reply-picker.js';
import { LabelControl } from './label-control.js';
import { ContactControl } from './contact-control.js';
import { AttachTray } from './attach-tray.js';
import { uploadUrl } from './attachments.mjs';
import { el } from './dom.js';

export const layout = {
  build(leading, trailing, extras) {
    const agent = this.role === 'agent';
    this.titleEl = el('h1', { id: 'title' });
    this.subtitleEl = el('p', { id: 'conversation', class: 'conversation' });
    // Agents see who the customer said they are, and correct it.
    this.contactControl = agent ? new ContactControl((frame) => this.send(frame)) : null;
    this.presenceEl = el('span', { id: 'presence', class: 'presence', 'data-online': 'false', 'data-stale': 'true' });
    this.statusEl = el('span', {
      id: 'status', class: 'status', 'data-state': 'reconnecting', role: 'status', 'aria-live': 'polite',
    });
    // Only agents see and change the conversation's status.
    this.convStatusEl = agent ? el('span', { id: 'conv-status', class: 'status-badge', 'data-status': 'open' }) : null;
    this.resolveButton = agent
      ? el('button', { type: 'button', id: 'resolve', class: 'button small', 'data-i18n': 'resolve' })
      : null;
    this.reopenButton = agent
      ? el('button', { type: 'button', id: 'reopen', class: 'button small', 'data-i18n': 'reopen', hidden: true })
      : null;
    // Agents see who has the conversation and hand it on.
    this.assignControl = agent ? new AssignControl((frame) => this.socket.send(frame), () => this.me) : null;
    this.labelControl = agent ? new LabelControl(this.clientId) : null;
    const header = el('header', { class: 'chat-header' }, [
      ...leading,
      el('div', { class: 'chat-titles' }, [
        this.titleEl, this.subtitleEl, this.contactControl && this.contactControl.element,
      ]),
      el('div', { class: 'chat-indicators' }, [
        this.presenceEl, this.statusEl, this.convStatusEl, this.assignControl && this.assignControl.element,
        this.labelControl && this.labelControl.element,
        this.resolveButton, this.reopenButton, ...trailing,
      ]),
    ]);

    this.reconnectHere = el('button', { type: 'button', id: 'reconnect-here', class: 'button', 'data-i18n': 'reconnectHere' });
    this.replacedBanner = el('div', { id: 'replaced', class: 'banner', role: 'alert', hidden: true }, [
      el('span', { id: 'replaced-text', 'data-i18n': 'replaced' }),
      this.reconnectHere,
    ]);
    // Agents only, and only where no owner shows one for the whole page.
    this.loginLink = agent && !this.onLoggedOut
      ? el('a', { id: 'login-again', class: 'button', 'data-i18n': 'logInAgain', href: '/agent/login' })
      : null;
    this.loggedOutBanner = this.loginLink
      ? el('div', { id: 'logged-out', class: 'banner', role: 'alert', hidden: true }, [
        el('span', { 'data-i18n': 'loggedOut' }), this.loginLink,
      ])
      : null;

    this.olderButton = el('button', { type: 'button', id: 'load-older', class: 'link-button', 'data-i18n': 'loadOlder', hidden: true });
    this.olderText = el('span', { id: 'older-text', class: 'older-text' });
    this.olderBox = el('div', { id: 'older', class: 'older', 'data-state': 'idle' }, [this.olderButton, this.olderText]);
    this.list = el('main', {
      id: 'messages', class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', tabindex: '0',
    }, [this.olderBox]);
    // Moved between bubbles, so outside I18N.apply's reach: relabel() words it.
    this.seenEl = el('div', { class: 'seen' });

    this.typingEl = el('div', { id: 'typing', class: 'typing', 'aria-live': 'polite', hidden: true });
    // Customers learn that writing again reopens a resolved conversation.
    this.resolvedNote = agent ? null : el('div', { id: 'resolved-note', class: 'resolved-note', 'data-i18n': 'resolvedNote', hidden: true });
    // Agents learn that nobody is there (yet) to read a reply.
    this.peerHint = agent ? el('div', { id: 'peer-hint', class: 'peer-hint', 'aria-live': 'polite', hidden: true }) : null;
    this.confirmSend = el('button', { type: 'button', id: 'confirm-send', class: 'button small', 'data-i18n': 'confirmSend' });
    this.confirmCancel = el('button', { type: 'button', id: 'confirm-cancel', class: 'link-button', 'data-i18n': 'cancel' });
    this.confirmBar = agent
      ? el('div', { id: 'confirm-create', class: 'banner', role: 'alert', hidden: true }, [
        el('span', { 'data-i18n': 'confirmCreate' }), this.confirmSend, this.confirmCancel,
      ])
      : null;
    this.noticeEl = el('div', { id: 'notice', class: 'notice', role: 'alert', hidden: true });

    this.input = el('textarea', {
      id: 'input', class: 'input', rows: '1', enterkeyhint: 'send', 'data-i18n-placeholder': 'placeholder',
    });
    this.counter = el('span', { id: 'counter', class: 'counter', 'aria-live': 'polite', hidden: true });
    this.sendButton = el('button', { type: 'submit', id: 'send', class: 'button send', 'data-i18n': 'send' });
    // Agents write a private note (only agents see it) with this ticked.
    this.noteToggle = agent ? el('input', { type: 'checkbox', id: 'note-toggle' }) : null;
    const noteBox = agent
      ? el('label', { class: 'note-toggle', 'data-i18n-title': 'privateNoteHint' }, [
        this.noteToggle, el('span', { 'data-i18n': 'privateNote' }),
      ])
      : null;
    // Agents: `/` offers the team's saved replies.
    this.replyPicker = agent ? new ReplyPicker(this.input, () => this.updateComposer()) : null;
    this.tray = new AttachTray({
      uploadUrl: (name) => uploadUrl(this.role, this.clientId, name, this.params),
      notice: (text) => this.showNotice(text),
      onChange: () => this.updateComposer(),
      signal: this.listeners.signal,
    });
    this.form = el('form', { id: 'composer', class: 'composer', autocomplete: 'off' }, [
      this.replyPicker && this.replyPicker.element,
      this.tray.element,
      el('label', { for: 'input', class: 'visually-hidden', 'data-i18n': 'inputLabel' }),
      this.input,
      el('div', { class: 'composer-side' }, [
        noteBox, this.counter, this.tray.input, this.tray.button, this.sendButton,
      ].filter(Boolean)),
    ]);

    this.root.classList.add('chat-view');
    this.root.dataset.role = this.role;
    const parts = [
      header, this.replacedBanner, this.loggedOutBanner, this.list, this.typingEl, this.resolvedNote,
      this.peerHint, this.confirmBar, this.noticeEl, ...extras, this.form,
    ];
    this.root.replaceChildren(...parts.filter(Boolean));
    I18N.apply(this.root);
  },
};
