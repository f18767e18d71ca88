// The widget's message rules: only our own, well-formed messages from the
// expected window and origin count; the badge counts agent messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MARK, envelope, trusted, frameEvent, hostCommand, identityOf, unreadCount, badgeText, scriptOptions,
} from '../../static/widget-core.mjs';

const SIG = 'ab'.repeat(32);

test('a message is trusted only from the expected origin and window', () => {
  const frame = {};
  const other = {};
  assert.equal(trusted({ origin: 'https://chat.example.com', source: frame }, 'https://chat.example.com', frame), true);
  assert.equal(trusted({ origin: 'https://evil.example', source: frame }, 'https://chat.example.com', frame), false);
  assert.equal(trusted({ origin: 'https://chat.example.com', source: other }, 'https://chat.example.com', frame), false);
  assert.equal(trusted({ origin: 'https://chat.example.com', source: null }, 'https://chat.example.com', null), false);
  assert.equal(trusted({ origin: '', source: frame }, '', frame), false);
  assert.equal(trusted(null, 'https://chat.example.com', frame), false);
});

test('frame events are checked field by field', () => {
  assert.deepEqual(frameEvent(envelope('state', { unread: 2, conversation: true })),
    { type: 'state', unread: 2, conversation: true, waiting: false });
  assert.equal(frameEvent({ type: 'state', unread: 2 }), null, 'without our mark');
  assert.equal(frameEvent(envelope('state', { unread: -1 })), null);
  assert.equal(frameEvent(envelope('state', { unread: '3' })), null);
  assert.equal(frameEvent(envelope('state', { unread: 1.5 })), null);
  assert.equal(frameEvent(envelope('dance')), null);
  assert.equal(frameEvent('support-chat/1'), null);
  assert.equal(frameEvent(null), null);
  assert.deepEqual(frameEvent(envelope('close')), { type: 'close' });
  const err = frameEvent(envelope('error', { code: 'invalid_identity', message: 'x'.repeat(900) }));
  assert.equal(err.message.length, 500);
  assert.equal(frameEvent(envelope('error', { message: 'no code' })), null);
  assert.equal(MARK, envelope('ready').sc);
});

test('host commands are checked field by field', () => {
  assert.deepEqual(hostCommand(envelope('init', { identity: null })), { type: 'init', identity: null, open: false });
  assert.deepEqual(hostCommand(envelope('init', { identity: { id: 'u-1', sig: SIG }, open: true })),
    { type: 'init', identity: { id: 'u-1', sig: SIG }, open: true });
  assert.equal(hostCommand(envelope('init', { identity: { id: 'u 1', sig: SIG } })), null, 'a bad identity is no init');
  assert.deepEqual(hostCommand(envelope('open')), { type: 'open', focus: true });
  assert.deepEqual(hostCommand(envelope('open', { focus: false })), { type: 'open', focus: false });
  assert.equal(hostCommand(envelope('identify', { identity: { id: 'u1', sig: 'short' } })), null);
  assert.equal(hostCommand(envelope('resolve')), null, 'not a host command');
  assert.equal(hostCommand({ sc: 'other', type: 'open' }), null);
});

test('identities need a valid id and a 64-digit hex signature', () => {
  assert.deepEqual(identityOf({ id: 'user-42', sig: SIG.toUpperCase(), name: ' Ana ', email: 'a@b.co' }),
    { id: 'user-42', sig: SIG, name: 'Ana', email: 'a@b.co' });
  for (const bad of [{ id: '', sig: SIG }, { id: 'x'.repeat(65), sig: SIG }, { id: '../x', sig: SIG },
    { id: 'u', sig: SIG + '0' }, { id: 'u', sig: 'g'.repeat(64) }, null, 'u']) {
    assert.equal(identityOf(bad), null, JSON.stringify(bad));
  }
});

test('the badge counts agent messages after the read mark', () => {
  const msgs = [
    { seq: 1, from: 'customer' }, { seq: 2, from: 'agent' }, { seq: 3, from: 'agent' }, { seq: 4, from: 'customer' },
    { seq: 5, from: 'agent' },
  ];
  assert.equal(unreadCount(msgs, 0), 3);
  assert.equal(unreadCount(msgs, 3), 1);
  assert.equal(unreadCount(msgs, 5), 0);
  assert.equal(unreadCount([], 0), 0);
  assert.equal(unreadCount(msgs, undefined), 3);
  assert.equal(badgeText(0), '');
  assert.equal(badgeText(7), '7');
  assert.equal(badgeText(100), '99+');
  assert.equal(badgeText(-2), '');
});

test('script options fall back to safe defaults', () => {
  assert.deepEqual(scriptOptions({}), {
    color: '#2563eb', lang: 'auto', position: 'right', identity: null, badIdentity: false, greeting: true,
  });
  const o = scriptOptions({ color: 'red;background:url(x)', lang: 'zh', position: 'left', userId: 'u1', sig: SIG });
  assert.equal(o.color, '#2563eb');
  assert.equal(o.lang, 'zh');
  assert.equal(o.position, 'left');
  assert.deepEqual(o.identity, { id: 'u1', sig: SIG });
  assert.equal(scriptOptions({ userId: 'u1', sig: 'nope' }).badIdentity, true);
  assert.equal(scriptOptions({ color: '#0f0' }).color, '#0f0');
});
