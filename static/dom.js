// Small DOM helpers shared by the chat view, the console and the start page.

/**
 * Creates an element. `attrs` become attributes (`true` means present,
 * `false`/null/undefined absent), except `text` (textContent) and
 * `class`; `children` are nodes appended in order.
 */
export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children || []) if (child) node.append(child);
  return node;
}

/**
 * The page's query parameters (an agent's token, a customer's identity
 * signature) ride along on every socket; `lang` only concerns the page.
 */
export function pageParams() {
  const params = new URLSearchParams(location.search);
  params.delete('lang');
  return params;
}

/** A same-host socket URL (ws: or wss: like the page) with `params`. */
export function socketUrl(path, params) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = params ? params.toString() : '';
  return scheme + '//' + location.host + path + (query ? '?' + query : '');
}

/**
 * The login form, coming back here afterwards (query and #fragment: the
 * console's open conversation). A `token` in the address is the refused
 * credential: it does not come back.
 */
export function loginHref() {
  const params = new URLSearchParams(location.search);
  params.delete('token');
  const query = params.toString();
  const here = location.pathname + (query ? '?' + query : '') + location.hash;
  return '/agent/login?next=' + encodeURIComponent(here);
}
