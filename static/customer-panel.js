// What a customer sees around the chat, on the customer page and in the
// widget: the greeting, the pre-chat form, the offline note that asks for
// an email address (with business hours), and the "new conversation" and
// "copy link" actions. Its nodes go into a ChatView (`extras`); the view's
// frames (through `onFrame`) tell it what to show. The rules are in
// prechat.mjs and hours.mjs.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';
import { askedFields, contactFrame, formNeeded, missingRequired } from './prechat.mjs';
import { clock, isOpen, knownZone, nextOpening, weekRows } from './hours.mjs';

/** The label of each pre-chat field (the team pages have their own). */
const FIELD_LABEL = { name: 'customerNameLabel', email: 'customerEmailLabel' };

const t = (key, vars) => I18N.t(key, vars);
const HOURS_REFRESH_MS = 60000;

/** The transcript opt-in checkbox, with its label. */
function transcriptBox(id) {
  const input = el('input', { id, type: 'checkbox' });
  const label = el('label', { class: 'check-row', for: id }, [input, el('span', { 'data-i18n': 'transcriptOptIn' })]);
  return { input, label };
}

export class CustomerPanel {
  /**
   * - config: /widget/config (prechat, greeting, away, hours).
   * - link(): the address that comes back to this conversation.
   * - onNew(): start a new conversation.
   * - skipKey: sessionStorage key remembering a skipped pre-chat form.
   */
  constructor({ config, link, onNew, skipKey }) {
    this.config = config || {};
    this.link = link;
    this.skipKey = skipKey;
    this.view = null;
    this.listeners = new AbortController();
    const opts = { signal: this.listeners.signal };

    this.greetingEl = el('p', { id: 'greeting', class: 'greeting', hidden: true });

    this.fields = {};
    const rows = askedFields(this.config.prechat).map((f) => {
      const input = el('input', {
        id: 'prechat-' + f, name: f, type: f === 'email' ? 'email' : 'text',
        autocomplete: f === 'email' ? 'email' : 'name', maxlength: f === 'email' ? '254' : '100',
        required: this.config.prechat[f] === 'required',
      });
      this.fields[f] = input;
      return el('label', { class: 'field', for: input.id }, [
        el('span', { class: 'field-label', 'data-i18n': FIELD_LABEL[f] }),
        this.config.prechat[f] === 'optional' ? el('span', { class: 'field-optional', 'data-i18n': 'optional' }) : null,
        input,
      ]);
    });
    // Next to the email field: a transcript when the conversation is resolved.
    this.prechatTranscript = this.fields.email ? transcriptBox('prechat-transcript') : null;
    this.prechatError = el('p', { id: 'prechat-error', class: 'form-error', role: 'alert', hidden: true });
    this.skipButton = el('button', { type: 'button', id: 'prechat-skip', class: 'link-button', 'data-i18n': 'prechatSkip' });
    this.prechatForm = el('form', { id: 'prechat', class: 'side-form prechat', hidden: true, novalidate: true }, [
      el('h2', { 'data-i18n': 'prechatTitle' }),
      ...rows,
      this.prechatTranscript && this.prechatTranscript.label,
      this.prechatError,
      el('div', { class: 'form-actions' }, [
        el('button', { type: 'submit', id: 'prechat-start', class: 'button', 'data-i18n': 'prechatStart' }),
        this.skipButton,
      ]),
    ]);
    this.prechatForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submitPrechat();
    }, opts);
    this.skipButton.addEventListener('click', () => {
      try {
        sessionStorage.setItem(this.skipKey, '1');
      } catch (err) {
        // storage disabled: skipped for this page view only
      }
      this.skipped = true;
      this.render();
      if (this.view) this.view.input.focus();
    }, opts);

    this.awayText = el('p', { id: 'away-text' });
    this.awayEmail = el('input', {
      id: 'away-email', type: 'email', autocomplete: 'email', maxlength: '254', 'data-i18n-placeholder': 'customerEmailLabel',
    });
    this.awayTranscript = transcriptBox('away-transcript');
    this.awayForm = el('form', { id: 'away-form', class: 'inline-form', novalidate: true }, [
      el('label', { for: 'away-email', class: 'visually-hidden', 'data-i18n': 'customerEmailLabel' }),
      this.awayEmail,
      el('button', { type: 'submit', class: 'button small', 'data-i18n': 'save' }),
      this.awayTranscript.label,
    ]);
    this.awaySaved = el('p', { id: 'away-saved', hidden: true });
    this.hoursEl = el('div', { id: 'hours', class: 'hours', hidden: true });
    this.awayBox = el('section', { id: 'away', class: 'away', role: 'status', hidden: true }, [
      this.awayText, this.awayForm, this.awaySaved, this.hoursEl,
    ]);
    this.awayForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const email = this.awayEmail.value.trim();
      // The page's language goes with the details: the emails speak it.
      if (email && this.view) {
        this.view.send({ type: 'contact', email, lang: I18N.lang, transcript: this.awayTranscript.input.checked });
      }
    }, opts);

    this.linkBox = el('input', { id: 'conversation-link', class: 'link-box', readonly: true, hidden: true });
    this.copyButton = el('button', { type: 'button', id: 'copy-link', class: 'link-button', 'data-i18n': 'copyLink' });
    this.newButton = el('button', { type: 'button', id: 'new-conversation', class: 'link-button', 'data-i18n': 'newConversation' });
    this.actions = el('div', { class: 'customer-actions' }, [this.newButton, this.copyButton, this.linkBox]);
    this.copyButton.addEventListener('click', () => this.copyLink(), opts);
    this.newButton.addEventListener('click', () => onNew(), opts);

    try {
      this.skipped = sessionStorage.getItem(this.skipKey) === '1';
    } catch (err) {
      this.skipped = false;
    }
    I18N.onChange(() => this.render(), opts.signal);
    this.hoursTimer = setInterval(() => this.render(), HOURS_REFRESH_MS);
  }

  /** The nodes to put into the ChatView. */
  nodes() {
    return [this.greetingEl, this.prechatForm, this.awayBox, this.actions];
  }

  /** The view its nodes are in (which translated them when it built itself). */
  attach(view) {
    this.view = view;
    this.render();
  }

  destroy() {
    clearInterval(this.hoursTimer);
    this.listeners.abort();
  }

  /** A frame the view handled: the state it shows may have changed. */
  onFrame(f) {
    if (f.type === 'error' && f.code === 'invalid_contact') {
      this.prechatError.textContent = t('error_invalid_contact');
      this.prechatError.hidden = false;
    }
    this.render();
  }

  text(texts, fallbackKey) {
    const own = texts && texts[I18N.lang];
    return typeof own === 'string' && own ? own : t(fallbackKey);
  }

  render() {
    const view = this.view;
    if (!view) return;
    const ready = view.ready;
    const empty = view.model.isEmpty();
    const contact = view.contact;
    const prechat = ready && formNeeded(this.config.prechat, contact, empty, this.skipped);
    const wasShown = !this.prechatForm.hidden;
    this.prechatForm.hidden = !prechat;
    view.form.hidden = prechat;
    // A required field cannot be skipped.
    this.skipButton.hidden = missingRequired(this.config.prechat, contact).length > 0;
    if (prechat && !wasShown) this.fillFromContact(contact);

    this.greetingEl.hidden = !(ready && empty && !prechat);
    this.greetingEl.textContent = this.text(this.config.greeting, 'greetingDefault');

    const away = ready && view.model.peerOnline === false;
    this.awayBox.hidden = !away;
    this.awayText.textContent = this.text(this.config.away, 'awayDefault');
    const email = contact && contact.email;
    this.awayForm.hidden = Boolean(email);
    this.awaySaved.hidden = !email;
    this.awaySaved.textContent = email ? t('awaySaved', { email }) : '';
    this.renderHours();
    this.actions.hidden = !ready;
  }

  fillFromContact(contact) {
    for (const [f, input] of Object.entries(this.fields)) {
      if (!input.value && contact && contact[f]) input.value = contact[f];
    }
  }

  submitPrechat() {
    const values = {};
    for (const [f, input] of Object.entries(this.fields)) values[f] = input.value;
    const { frame, missing } = contactFrame(this.config.prechat, values);
    if (missing.length) {
      this.prechatError.textContent = t('prechatMissing', { fields: missing.map((f) => t(FIELD_LABEL[f])).join(', ') });
      this.prechatError.hidden = false;
      this.fields[missing[0]].focus();
      return;
    }
    this.prechatError.hidden = true;
    if (!frame) {
      this.skipButton.click();
      return;
    }
    // The form goes once the server says the contact changed (`contact`).
    const extra = { lang: I18N.lang };
    if (frame.email && this.prechatTranscript) extra.transcript = this.prechatTranscript.input.checked;
    if (this.view && this.view.send({ ...frame, ...extra })) {
      this.skipped = true; // optional fields left empty are not asked again
      this.view.input.focus();
    }
  }

  renderHours() {
    const hours = this.config.hours;
    if (!hours || !knownZone(hours.time_zone)) {
      this.hoursEl.hidden = true;
      return;
    }
    const now = new Date();
    const rows = weekRows(hours).map((row) => {
      const days = row.from === row.to
        ? t('dayShort' + row.from)
        : t('dayShort' + row.from) + '–' + t('dayShort' + row.to);
      const times = row.ranges.map(([a, b]) => clock(a) + '–' + clock(b)).join(', ');
      return el('li', { text: days + ' ' + times });
    });
    let state;
    if (isOpen(hours, now)) {
      state = t('hoursOpenNow');
    } else {
      const next = nextOpening(hours, now);
      const time = next ? clock(next.minute) : '';
      let when = '';
      if (next && next.inDays === 0) when = t('hoursToday', { time });
      else if (next && next.inDays === 1) when = t('hoursTomorrow', { time });
      else if (next) when = t('hoursOn', { day: t('day' + next.day), time });
      state = t('hoursClosed', { when });
    }
    this.hoursEl.replaceChildren(
      el('p', { id: 'hours-state', text: state }),
      el('p', { class: 'hours-title', text: t('hoursTitle', { zone: hours.time_zone }) }),
      el('ul', {}, rows),
    );
    this.hoursEl.hidden = false;
  }

  async copyLink() {
    const link = this.link();
    this.linkBox.value = link;
    try {
      await navigator.clipboard.writeText(link);
      this.view.showNotice(t('linkCopied'));
      this.linkBox.hidden = true;
    } catch (err) {
      // No clipboard here (an iframe without the permission, plain http):
      // show the link, selected, to copy by hand.
      this.view.showNotice(t('linkManual'));
      this.linkBox.hidden = false;
      this.linkBox.focus();
      this.linkBox.select();
    }
  }
}
