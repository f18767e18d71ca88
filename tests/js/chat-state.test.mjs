// The chat view's DOM-free decisions (static/chat-state.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conversation } from '../../static/model.mjs';
import {
  GAP_PAGE_MAX, OLDER_PAGE, TYPING_SEND_MS, connectionState, counterState, errorText, isSendKey,
  messageFrame, nextOlderRequest, olderState, olderTextKey, pageTitle, peerHintKey, typingAction, typingLine,
} from '../../static/chat-state.mjs';

const msg = (seq, extra = {}) => ({ seq, from: 'customer', text: 'm' + seq, ts: '2026-11-26T06:44:13.123Z', ...extra });
const conversationOf = (...seqs) => {
  const c = new Conversation('agent');
  for (const seq of seqs) c.accept(msg(seq), true);
  return c;
};

test('the connection badge: a halt wins, then ready, then offline, then (re)connecting', () => {
  const base = { halted: null, ready: false, paused: false, offline: false, everConnected: false };
  assert.deepEqual(connectionState({ ...base, halted: 'logged-out', ready: true }), ['offline', 'loggedOutShort']);
  assert.deepEqual(connectionState({ ...base, halted: 'replaced', ready: true }), ['offline', 'disconnected']);
  assert.deepEqual(connectionState({ ...base, ready: true, offline: true }), ['connected', 'connected']);
  assert.deepEqual(connectionState({ ...base, paused: true }), ['offline', 'offline']);
  assert.deepEqual(connectionState({ ...base, offline: true }), ['offline', 'offline']);
  assert.deepEqual(connectionState(base), ['reconnecting', 'connecting']);
  assert.deepEqual(connectionState({ ...base, everConnected: true }), ['reconnecting', 'reconnecting']);
});

test('agents are told nobody reads yet only once connected and while the customer is away', () => {
  assert.equal(peerHintKey(false, false, true), null, 'not before the welcome');
  assert.equal(peerHintKey(true, true, true), null);
  assert.equal(peerHintKey(true, false, true), 'noConversation');
  assert.equal(peerHintKey(true, false, false), 'customerAway');
});

test('the line above the messages says loading, empty, the beginning, or offers more', () => {
  const base = { inFlight: false, stored: false, ready: true, shown: false, exhausted: false };
  assert.equal(olderState({ ...base, inFlight: true, stored: true }), 'loading');
  assert.equal(olderState(base), 'empty');
  assert.equal(olderState({ ...base, shown: true }), 'idle', 'a pending bubble is not an empty conversation');
  assert.equal(olderState({ ...base, ready: false }), 'idle');
  assert.equal(olderState({ ...base, stored: true, exhausted: true }), 'done');
  assert.equal(olderState({ ...base, stored: true }), 'more');
  assert.deepEqual(['loading', 'empty', 'idle', 'done', 'more'].map(olderTextKey),
    ['loadingOlder', 'noMessages', null, 'beginning', null]);
});

test('a hole in the middle is asked for before the top, capped at the protocol limit', () => {
  const small = conversationOf(1, 5, 9);
  assert.deepEqual(nextOlderRequest(small, true), { kind: 'gap', before: 9, limit: 3 }, 'the highest hole first');
  const wide = conversationOf(1, 1000);
  assert.deepEqual(nextOlderRequest(wide, false), { kind: 'gap', before: 1000, limit: GAP_PAGE_MAX });
});

test('the top is extended only when wanted, and never past the first message', () => {
  const c = conversationOf(40, 41);
  assert.equal(nextOlderRequest(c, false), null);
  assert.deepEqual(nextOlderRequest(c, true), { kind: 'top', before: 40, limit: OLDER_PAGE });
  c.olderExhausted = true;
  assert.equal(nextOlderRequest(c, true), null);
  assert.equal(nextOlderRequest(new Conversation('agent'), true), null, 'nothing held: nothing to go before');
  const first = conversationOf(3, 4);
  first.messages.get(3).prev = 0; // seq 3 is the first this side sees (earlier ones hidden)
  first.olderExhausted = false;
  assert.deepEqual(nextOlderRequest(first, true), { exhausted: true });
});

test('the counter shows from 80% of the limit and marks what is over it', () => {
  assert.deepEqual(counterState(79, 100), { hidden: true, over: false });
  assert.deepEqual(counterState(80, 100), { hidden: false, over: false });
  assert.deepEqual(counterState(100, 100), { hidden: false, over: false });
  assert.deepEqual(counterState(101, 100), { hidden: false, over: true });
});

test('Enter sends; modifiers and IME composition do not', () => {
  assert.equal(isSendKey({ key: 'Enter' }), true);
  for (const mod of ['shiftKey', 'altKey', 'ctrlKey', 'metaKey', 'isComposing']) {
    assert.equal(isSendKey({ key: 'Enter', [mod]: true }), false, mod);
  }
  assert.equal(isSendKey({ key: 'Enter', keyCode: 229 }), false, 'an IME confirming a candidate');
  assert.equal(isSendKey({ key: 'a' }), false);
});

test('typing is told at most once per interval, and stopped when the draft is blank', () => {
  const now = 100000;
  assert.equal(typingAction({ draft: '  \n', ready: true, now, sentAt: 0 }), 'stop');
  assert.equal(typingAction({ draft: 'hi', ready: false, now, sentAt: 0 }), null);
  assert.equal(typingAction({ draft: 'hi', ready: true, now, sentAt: 0 }), 'send');
  assert.equal(typingAction({ draft: 'hi', ready: true, now, sentAt: now - TYPING_SEND_MS + 1 }), null);
  assert.equal(typingAction({ draft: 'hi', ready: true, now, sentAt: now - TYPING_SEND_MS }), 'send');
});

test('the typing line names a colleague, else the side', () => {
  assert.deepEqual(typingLine({ name: 'Ana' }), ['typingNamed', { name: 'Ana' }]);
  assert.deepEqual(typingLine({ role: 'agent' }), ['typingAgent', undefined]);
  assert.deepEqual(typingLine({ role: 'customer' }), ['typingCustomer', undefined]);
});

test('a queued message goes out with its id, and note and files only when it has them', () => {
  const plain = { id: 'c-1', text: 'hi', private: false, attachments: [] };
  assert.deepEqual(messageFrame(plain), { type: 'message', text: 'hi', id: 'c-1' });
  const note = { id: 'a-2', text: '', private: true, attachments: [{ id: 'f1', name: 'x.png' }, { id: 'f2' }] };
  assert.deepEqual(messageFrame(note), { type: 'message', text: '', id: 'a-2', private: true, attachments: ['f1', 'f2'] });
});

test('errors are worded in the UI language when known, else the server\'s text', () => {
  const i18n = {
    has: (key) => key === 'error_too_long',
    t: (key, vars) => (vars ? `${key}:${vars.max}` : key),
  };
  assert.equal(errorText(i18n, 'too_long', 'server text', 4000), 'error_too_long:4000');
  assert.equal(errorText(i18n, 'brand_new', 'server text', 4000), 'server text');
  assert.equal(errorText(i18n, 'brand_new', '', 4000), 'error_generic');
  assert.equal(errorText(i18n, undefined, undefined, 4000), 'error_generic');
});

test('the page title carries the unread count only when there is one', () => {
  const t = (key, vars) => `(${vars.n}) ${vars.title}`;
  assert.equal(pageTitle('Chat', 0, t), 'Chat');
  assert.equal(pageTitle('Chat', 3, t), '(3) Chat');
});
