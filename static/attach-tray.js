// The composer's files: an attach button (a hidden file input), and a tray
// of the files picked, pasted or dropped, each uploading at once with a
// progress bar and a cancel, then kept until the message sends them.
// Checks and URLs come from attachments.mjs; the server has the last word.
import { formatSize, screen, uploadErrorKey } from './attachments.mjs';
import { I18N } from './i18n.mjs';
import { el } from './dom.js';

const t = (key, vars) => I18N.t(key, vars);

export class AttachTray {
  /**
   * - uploadUrl(name): where a file goes.
   * - notice(text): shows why a file was refused.
   * - onChange(): the tray's files or uploads changed.
   * - signal: removes the listeners with the view.
   */
  constructor({ uploadUrl, notice, onChange, signal }) {
    this.uploadUrl = uploadUrl;
    this.notice = notice;
    this.onChange = onChange || (() => {});
    this.items = []; // {file, name, xhr, meta, row, bar}
    this.input = el('input', { type: 'file', multiple: true, id: 'attach-input', class: 'visually-hidden', tabindex: '-1' });
    this.button = el('button', {
      type: 'button', id: 'attach', class: 'button attach', 'data-i18n-title': 'attachHint', 'data-i18n-aria-label': 'attach',
    }, [el('span', { text: '📎', 'aria-hidden': 'true' })]);
    this.element = el('ul', { id: 'attach-tray', class: 'attach-tray', hidden: true });
    this.button.addEventListener('click', () => this.input.click(), { signal });
    this.input.addEventListener('change', () => {
      this.add([...this.input.files]);
      this.input.value = '';
    }, { signal });
  }

  /** Starts uploading `files` (File objects; `name` overrides theirs). */
  add(files) {
    const { accepted, refused } = screen(files, this.items.length);
    for (const r of refused) this.notice(t(r.key, { name: r.name }));
    for (const file of accepted) this.start(file);
    this.render();
  }

  start(file) {
    const name = file.name;
    const bar = el('progress', { max: '100', value: '0', class: 'attach-progress' });
    const label = el('span', { class: 'attach-name', text: name });
    const cancel = el('button', { type: 'button', class: 'link-button attach-cancel', text: '×' });
    const row = el('li', { class: 'attach-item uploading' }, [label, bar, cancel]);
    const xhr = new XMLHttpRequest();
    const item = { file, name, xhr, meta: null, row, bar, cancel };
    cancel.addEventListener('click', () => this.remove(item));
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      bar.title = t('uploading', { name, percent });
    });
    xhr.addEventListener('load', () => {
      if (!this.items.includes(item)) return;
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 201 && body && typeof body.id === 'string') {
        item.meta = body;
        row.classList.remove('uploading');
        bar.remove();
        label.textContent = body.name + ' (' + formatSize(body.size) + ')';
        this.render();
      } else {
        const code = body && body.error ? body.error.code : '';
        this.notice(t(uploadErrorKey(xhr.status, code), { name }));
        this.remove(item);
      }
    });
    xhr.addEventListener('error', () => {
      if (!this.items.includes(item)) return;
      this.notice(t('uploadFailed', { name }));
      this.remove(item);
    });
    xhr.open('POST', this.uploadUrl(name));
    xhr.send(file);
    this.items.push(item);
  }

  /** Cancels (or drops, once uploaded) one file. */
  remove(item) {
    if (!item.meta) item.xhr.abort();
    this.items = this.items.filter((i) => i !== item);
    item.row.remove();
    this.render();
  }

  /** Whether an upload is still on its way. */
  busy() {
    return this.items.some((i) => !i.meta);
  }

  /** The uploaded files, in the order they were added. */
  files() {
    return this.items.filter((i) => i.meta).map((i) => i.meta);
  }

  /** Empties the tray once a message took its files. */
  clear() {
    for (const item of this.items) item.row.remove();
    this.items = [];
    this.render();
  }

  render() {
    for (const item of this.items) {
      item.cancel.title = item.meta ? t('removeFile', { name: item.name }) : t('cancelUpload');
      item.cancel.setAttribute('aria-label', item.cancel.title);
      if (!item.row.isConnected) this.element.append(item.row);
    }
    this.element.hidden = this.items.length === 0;
    this.onChange();
  }
}
