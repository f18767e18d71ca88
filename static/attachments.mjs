// Attachments without the DOM: where a side uploads and fetches a file,
// the checks made before an upload starts, sizes for people, and which
// string an upload's failure shows. The page code (attach-tray.js,
// chat-view.js) does the clicking, dragging and pasting.

/** Largest file the server takes by default (it has the last word). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Most files one message sends (the server's limit). */
export const MAX_FILES = 10;

/**
 * The query a side's requests carry: the customer's identity signature
 * (`sig` or `jwt`), an agent's `token` if the page has one.
 */
function credentials(role, params) {
  const out = new URLSearchParams();
  const keys = role === 'agent' ? ['token'] : ['sig', 'jwt'];
  for (const key of keys) if (params && params.has(key)) out.set(key, params.get(key));
  return out;
}

function base(role, clientId) {
  const id = encodeURIComponent(clientId);
  return role === 'agent' ? '/api/conversations/' + id + '/attachments' : '/chat/client/' + id + '/attachments';
}

/** Where `role` uploads `name` (the body is the file itself). */
export function uploadUrl(role, clientId, name, params) {
  const query = credentials(role, params);
  query.set('name', name);
  return base(role, clientId) + '?' + query.toString();
}

/** Where `role` fetches attachment `a` (its thumbnail with `thumbnail`). */
export function fileUrl(role, clientId, a, thumbnail, params) {
  const query = credentials(role, params).toString();
  const path = base(role, clientId) + '/' + encodeURIComponent(a.id) + (thumbnail ? '/thumbnail' : '');
  return path + (query ? '?' + query : '');
}

/** Whether `a` shows as a thumbnail (a raster image the server measured). */
export function isImage(a) {
  return Boolean(a && Number.isFinite(a.width) && Number.isFinite(a.height));
}

/** `bytes` for people: 512 B, 1.5 KB, 2.3 MB. */
export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10 * 1024 ? 1 : 0) + ' KB';
  return (n / (1024 * 1024)).toFixed(1) + ' MB';
}

/**
 * Which of `files` ({name, size}) may start uploading when `queued` are
 * already in the tray: `{ accepted, refused: [{name, key}] }`, `key` a
 * string of strings.mjs.
 */
export function screen(files, queued = 0, maxBytes = MAX_FILE_BYTES) {
  const accepted = [];
  const refused = [];
  for (const file of files) {
    if (queued + accepted.length >= MAX_FILES) refused.push({ name: file.name, key: 'tooManyFiles' });
    else if (file.size > maxBytes) refused.push({ name: file.name, key: 'fileTooLarge' });
    else if (file.size === 0) refused.push({ name: file.name, key: 'fileEmpty' });
    else accepted.push(file);
  }
  return { accepted, refused };
}

/** The string key for a failed upload's HTTP status and error code. */
export function uploadErrorKey(status, code) {
  if (code === 'quota_exceeded') return 'quotaExceeded';
  if (status === 413) return 'fileTooLarge';
  if (status === 415) return 'fileRefused';
  if (status === 429) return 'uploadsTooFast';
  if (status === 401 || status === 403) return 'uploadForbidden';
  return 'uploadFailed';
}

/** A name for a pasted image, which comes without one. */
export function pastedName(type, now = new Date()) {
  const ext = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' }[type] || 'bin';
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return 'pasted-' + stamp + '.' + ext;
}
