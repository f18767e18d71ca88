// The chat view's decisions that need no DOM (chat-view*.js render them):
// what the connection badge, the "older messages" line, the counter and the
// typing line say, which history request goes next, what a queued message's
// frame is. Tested in Node: tests/js/chat-state.test.mjs.

export const OLDER_PAGE = 50; // messages per "load older" request
export const GAP_PAGE_MAX = 200; // the protocol's largest history_before limit
export const TYPING_SEND_MS = 2000; // protocol: at most one typing frame per 2 s

/**
 * The connection badge: `[state, key]` (data-state, string key) from the
 * socket's `halted` reason, whether the view is `ready` (welcome and first
 * history in), `paused` by the browser going offline or `offline` as
 * navigator says, and whether it was ever connected.
 */
export function connectionState({ halted, ready, paused, offline, everConnected }) {
  if (halted === 'logged-out') return ['offline', 'loggedOutShort'];
  if (halted) return ['offline', 'disconnected'];
  if (ready) return ['connected', 'connected'];
  if (paused || offline) return ['offline', 'offline'];
  return ['reconnecting', everConnected ? 'reconnecting' : 'connecting'];
}

/** Agents: the hint that nobody reads a reply (yet), or null. */
export function peerHintKey(ready, peerOnline, empty) {
  if (!ready || peerOnline) return null;
  return empty ? 'noConversation' : 'customerAway';
}

/**
 * The line above the messages: 'loading' (a request is out), 'empty'
 * (ready, no bubble at all), 'idle' (nothing stored yet), 'done' (the
 * beginning is shown) or 'more' (a "load older" button).
 */
export function olderState({ inFlight, stored, ready, shown, exhausted }) {
  if (inFlight) return 'loading';
  if (!stored) return ready && !shown ? 'empty' : 'idle';
  return exhausted ? 'done' : 'more';
}

/** The string key of an older-line state's text, or null for none. */
export function olderTextKey(state) {
  return { loading: 'loadingOlder', done: 'beginning', empty: 'noMessages' }[state] || null;
}

/**
 * The next history_before request of a `Conversation` (model.mjs): a hole
 * in the middle first, then the top of the list when `wantTop`. Returns
 * `{ kind: 'gap'|'top', before, limit }`, `{ exhausted: true }` when the
 * list already starts at the first message, or null for nothing to ask.
 */
export function nextOlderRequest(model, wantTop) {
  const gap = model.findGap();
  if (gap) return { kind: 'gap', before: gap.before, limit: Math.min(GAP_PAGE_MAX, gap.missing) };
  if (!wantTop || model.olderExhausted || !model.seqs.length) return null;
  if (model.atBeginning()) return { exhausted: true };
  return { kind: 'top', before: model.lowest(), limit: OLDER_PAGE };
}

/** The character counter: shown from 80% of `max`, marked when over it. */
export function counterState(n, max) {
  return { hidden: n < max * 0.8, over: n > max };
}

/**
 * Whether a keydown sends: Enter without modifiers, never mid-composition
 * (Chinese/Japanese IMEs use Enter to confirm a candidate).
 */
export function isSendKey(e) {
  if (e.key !== 'Enter' || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return false;
  return !(e.isComposing || e.keyCode === 229);
}

/**
 * What our typing indicator does after the draft changed: 'stop' (the
 * draft is blank), 'send' (typing:true is due) or null (not ready, or
 * sent less than TYPING_SEND_MS ago).
 */
export function typingAction({ draft, ready, now, sentAt }) {
  if (!draft.trim()) return 'stop';
  if (!ready || now - sentAt < TYPING_SEND_MS) return null;
  return 'send';
}

/** The typing line for `who` ({name} or {role}, people.mjs typistOf): [key, vars]. */
export function typingLine(who) {
  if (who.name) return ['typingNamed', { name: who.name }];
  return [who.role === 'agent' ? 'typingAgent' : 'typingCustomer', undefined];
}

/** The wire frame of a queued outbox entry (model.mjs Outbox). */
export function messageFrame(entry) {
  const frame = { type: 'message', text: entry.text, id: entry.id };
  if (entry.private) frame.private = true;
  if (entry.attachments.length) frame.attachments = entry.attachments.map((a) => a.id);
  return frame;
}

/**
 * A server error in the UI language (`i18n`: {has, t}); unknown codes keep
 * the server's text. `max` words the too-long error.
 */
export function errorText(i18n, code, message, max) {
  const key = 'error_' + (code || '');
  if (code && i18n.has(key)) return i18n.t(key, { max });
  return message || i18n.t('error_generic');
}

/** A page's title, with the unread count while the reader was away. */
export function pageTitle(base, unread, t) {
  return unread ? t('unreadTitle', { n: unread, title: base }) : base;
}
