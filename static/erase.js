// The customer's "delete this conversation" control: a button that asks
// for confirmation in place, then DELETEs the conversation's URL (which
// carries the identity signature, if any). The customer page deletes its
// own URL and leaves for the start page; the widget passes its own.
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

/**
 * The control, to put in the chat header. `url()` is the conversation's
 * `/chat/client/{id}?sig=…`; `onErased()` runs once it is gone.
 */
export function eraseControl({
  url = () => location.pathname + location.search,
  onErased = () => location.replace('/?erased=1'),
} = {}) {
  const ask = el('button', { type: 'button', id: 'erase', class: 'button small', 'data-i18n': 'eraseConversation' });
  const yes = el('button', { type: 'button', id: 'erase-yes', class: 'button small danger', 'data-i18n': 'eraseYes' });
  const no = el('button', { type: 'button', id: 'erase-no', class: 'button small', 'data-i18n': 'eraseNo' });
  const error = el('span', { id: 'erase-error', class: 'form-error', role: 'alert' });
  const confirm = el('span', { id: 'erase-confirm', class: 'erase-confirm', role: 'alertdialog', hidden: true }, [
    el('span', { 'data-i18n': 'eraseConfirm' }), yes, no, error,
  ]);
  ask.addEventListener('click', () => {
    confirm.hidden = false;
    ask.hidden = true;
    no.focus();
  });
  no.addEventListener('click', () => {
    confirm.hidden = true;
    ask.hidden = false;
  });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      const response = await fetch(url(), { method: 'DELETE', credentials: 'same-origin' });
      if (response.status !== 204) {
        const data = await response.json().catch(() => null);
        throw new Error(data && data.error ? data.error.message : String(response.status));
      }
      onErased();
    } catch (e) {
      error.textContent = I18N.t('eraseFailed', { error: e.message });
      yes.disabled = false;
    }
  });
  return el('span', { class: 'erase-box' }, [ask, confirm]);
}
