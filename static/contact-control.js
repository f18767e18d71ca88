// The customer's contact details in an agent's chat header: the name and
// email they gave, and an Edit form to correct them. A save is a `contact`
// frame; the server's `contact` frame to both sides then shows the result
// (a refused one comes back as an `invalid_contact` error).
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

const t = (key, vars) => I18N.t(key, vars);

export class ContactControl {
  /** `send(frame)` sends on the agent's socket; false if it is not open. */
  constructor(send) {
    this.send = send;
    this.contact = null;
    this.text = el('span', { id: 'contact' });
    this.editButton = el('button', {
      type: 'button', id: 'edit-contact', class: 'link-button', 'data-i18n': 'editContact',
    });
    this.name = el('input', {
      id: 'contact-name', type: 'text', maxlength: '100', autocomplete: 'off', 'data-i18n-placeholder': 'contactNameLabel',
    });
    this.email = el('input', {
      id: 'contact-email', type: 'email', maxlength: '254', autocomplete: 'off', 'data-i18n-placeholder': 'contactEmailLabel',
    });
    const save = el('button', { type: 'submit', class: 'button small', 'data-i18n': 'save' });
    const cancel = el('button', { type: 'button', class: 'button small secondary', 'data-i18n': 'cancel' });
    this.form = el('form', { id: 'contact-form', class: 'inline-form contact-form', hidden: true }, [
      el('label', { for: 'contact-name', class: 'visually-hidden', 'data-i18n': 'contactNameLabel' }),
      this.name,
      el('label', { for: 'contact-email', class: 'visually-hidden', 'data-i18n': 'contactEmailLabel' }),
      this.email,
      save,
      cancel,
    ]);
    this.element = el('div', { class: 'conversation contact' }, [this.text, this.editButton, this.form]);
    this.editButton.addEventListener('click', () => this.edit());
    cancel.addEventListener('click', () => this.close());
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      // An empty field clears it (PROTOCOL.md, `contact`).
      if (this.send({ type: 'contact', name: this.name.value.trim(), email: this.email.value.trim() })) this.close();
    });
    this.set(null);
  }

  /** The details as the server now has them (`null`: none given). */
  set(contact) {
    this.contact = contact && typeof contact === 'object' ? contact : null;
    const parts = this.contact ? [this.contact.name, this.contact.email].filter((p) => typeof p === 'string' && p) : [];
    this.text.textContent = parts.join(' · ');
    this.text.hidden = !parts.length;
    this.editButton.textContent = t(parts.length ? 'editContact' : 'addContact');
  }

  edit() {
    this.name.value = (this.contact && this.contact.name) || '';
    this.email.value = (this.contact && this.contact.email) || '';
    this.form.hidden = false;
    this.editButton.hidden = true;
    this.name.focus();
  }

  close() {
    this.form.hidden = true;
    this.editButton.hidden = false;
  }
}
