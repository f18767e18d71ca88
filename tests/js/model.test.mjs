// The conversation model (static/model.mjs) on its own: what the pages
// show and send, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conversation, Outbox } from '../../static/model.mjs';

const msg = (seq, from = 'customer', extra = {}) => ({ seq, from, text: 'm' + seq, ts: '2026-11-26T06:44:13.123Z', ...extra });
const welcome = (last, extra = {}) => ({ type: 'welcome', last_seq: last, peer_online: true, status: 'open', read_seq: 0, peer_read_seq: 0, ...extra });

test('messages are held by seq, in order, whatever order they arrive in', () => {
  const c = new Conversation('customer');
  c.accept(msg(3));
  assert.equal(c.accept(msg(5)).result, 'added');
  assert.equal(c.accept(msg(4)).result, 'added', 'a late live one fills in above the lowest');
  for (const seq of [1, 2]) assert.equal(c.accept(msg(seq), true).result, 'added', 'older pages go below');
  assert.deepEqual(c.seqs, [1, 2, 3, 4, 5]);
  assert.equal(c.since(), 5);
  assert.equal(c.accept(msg(6)).index, 5, 'index tells where the bubble goes');
});

test('a message seen twice (history after a live copy, a reconnect) is held once', () => {
  const c = new Conversation('agent');
  c.accept(msg(1));
  c.accept(msg(2));
  assert.equal(c.accept(msg(2)).result, 'duplicate');
  assert.deepEqual(c.seqs, [1, 2]);
  assert.equal(c.accept({ seq: 'x', from: 'agent', text: 'bad' }).result, 'invalid');
  assert.equal(c.accept({ seq: 3, from: 'robot', text: 'bad' }).result, 'invalid');
});

test('a retried message is acknowledged once and never shown twice', () => {
  const c = new Conversation('customer');
  const entry = c.outbox.add('c-1', 'hello');
  assert.equal(c.outbox.takeNext(), entry);
  // The socket dropped before the acknowledgement: sent again on the next one.
  c.outbox.connectionLost();
  assert.equal(c.outbox.takeNext(), entry, 'the same id goes again');
  const first = c.accept(msg(1, 'customer', { id: 'c-1', text: 'hello' }));
  assert.equal(first.result, 'added');
  assert.equal(first.acked, entry);
  // The server's answer to the resend is the stored message again.
  const again = c.accept(msg(1, 'customer', { id: 'c-1', text: 'hello' }));
  assert.equal(again.result, 'duplicate');
  assert.equal(again.acked, undefined, 'nothing left to acknowledge');
  assert.equal(c.outbox.size, 0);
  assert.deepEqual(c.seqs, [1]);
});

test('the peer\'s message with our id is not an acknowledgement', () => {
  const c = new Conversation('customer');
  c.outbox.add('x-1', 'mine');
  assert.equal(c.accept(msg(1, 'agent', { id: 'x-1' })).acked, undefined);
  assert.equal(c.outbox.size, 1);
});

test('the outbox sends one at a time, in the order typed', () => {
  const box = new Outbox();
  const [a, b, c] = ['a', 'b', 'c'].map((id) => box.add(id, id));
  assert.equal(box.takeNext(), a);
  assert.equal(box.takeNext(), null, 'nothing else while one is in flight');
  box.acknowledge('a');
  assert.equal(box.takeNext(), b);
  box.acknowledge('b');
  assert.equal(box.takeNext(), c);
});

test('a rate-limited message holds back every later one until it is accepted', () => {
  const box = new Outbox();
  for (const id of ['0', '1', '2']) box.add(id, 'text ' + id);
  assert.equal(box.takeNext().id, '0');
  const refused = box.refuse('0', 'rate_limited', () => 0.5);
  assert.ok(refused.retryMs > 0 && refused.retryMs <= 300, `a short wait: ${refused.retryMs}`);
  assert.equal(box.takeNext(), null, 'held: 1 and 2 must not overtake 0');
  box.release();
  assert.equal(box.takeNext().id, '0', 'the refused one goes first again');
  const later = box.refuse('0', 'store_unavailable', () => 0.5);
  assert.ok(later.retryMs > refused.retryMs, 'backs off');
  box.release();
  assert.equal(box.takeNext().id, '0');
  box.acknowledge('0');
  assert.equal(box.takeNext().id, '1');
});

test('a message refused for good fails and lets the next one go', () => {
  const box = new Outbox();
  box.add('long', 'x'.repeat(5000));
  box.add('ok', 'fine');
  box.takeNext();
  assert.equal(box.refuse('long', 'text_too_long').failed.id, 'long');
  assert.equal(box.takeNext().id, 'ok');
  assert.equal(box.refuse('unknown', 'rate_limited'), null, 'not ours');
});

test('the outbox keeps its order across a reconnect and a reload', () => {
  const c = new Conversation('customer');
  for (const id of ['a', 'b', 'c']) c.outbox.add(id, 'text ' + id);
  c.outbox.takeNext();
  c.outbox.refuse('a', 'shutting_down');
  c.outbox.connectionLost(); // the hold ends with the socket: the new one starts at the head
  // A reload (or a trip to the login form) keeps ids and order.
  const restored = new Conversation('customer');
  restored.outbox.restore(JSON.parse(JSON.stringify(c.outbox.saved())));
  restored.outbox.restore([{ id: 'b', text: 'text b' }, null, { id: 7 }]); // no duplicate, no junk
  assert.deepEqual(restored.outbox.saved().map((e) => e.id), ['a', 'b', 'c']);
  // The new socket's history acknowledges 'a', stored just before the drop.
  restored.welcome(welcome(1));
  restored.accept(msg(1, 'customer', { id: 'a' }));
  const order = [];
  for (let e = restored.outbox.takeNext(); e; e = restored.outbox.takeNext()) {
    order.push(e.id);
    restored.accept(msg(restored.since() + 1, 'customer', { id: e.id }));
  }
  assert.deepEqual(order, ['b', 'c']);
  assert.deepEqual(restored.seqs, [1, 2, 3]);
});

test('gaps are found from the top and `since` is the newest held seq', () => {
  const c = new Conversation('agent');
  for (const seq of [1, 2, 3, 250, 251]) c.accept(msg(seq), true);
  assert.deepEqual(c.findGap(), { before: 250, missing: 246 });
  for (let seq = 50; seq < 250; seq++) c.accept(msg(seq), true);
  assert.deepEqual(c.findGap(), { before: 50, missing: 46 });
  for (let seq = 4; seq < 50; seq++) c.accept(msg(seq), true);
  assert.equal(c.findGap(), null);
  assert.equal(c.since(), 251);
  c.olderPageDone('gap', 0, false);
  assert.equal(c.gapStuck, true, 'an empty gap page stops the requests');
});

test('a late acknowledgement far below what is loaded is not inserted', () => {
  const c = new Conversation('customer');
  c.outbox.add('old', 'resent');
  for (const seq of [300, 301]) c.accept(msg(seq, 'agent'));
  const late = c.accept(msg(20, 'customer', { id: 'old' }));
  assert.equal(late.result, 'skipped');
  assert.equal(late.acked.id, 'old', 'still acknowledged');
  assert.deepEqual(c.seqs, [300, 301]);
});

test('the server lost its history: everything is dropped and since is 0', () => {
  const c = new Conversation('customer');
  c.welcome(welcome(3, { read_seq: 3 }));
  for (const seq of [1, 2, 3]) c.accept(msg(seq));
  c.outbox.add('kept', 'typed meanwhile');
  assert.deepEqual(c.welcome(welcome(0)), { reset: true });
  assert.deepEqual(c.seqs, []);
  assert.equal(c.since(), 0);
  assert.equal(c.readSent, 0, 'our read mark starts over too');
  assert.equal(c.olderExhausted, false);
  assert.equal(c.outbox.size, 1, 'unsent messages survive');
  assert.deepEqual(c.welcome(welcome(0)), { reset: false }, 'the reconnect from scratch is fine');
});

test('read marks only move forward; "Seen" goes under our newest seen message', () => {
  const c = new Conversation('customer');
  c.welcome(welcome(4, { read_seq: 2, peer_read_seq: 1 }));
  c.accept(msg(1, 'customer'));
  c.accept(msg(2, 'agent'));
  c.accept(msg(3, 'customer'));
  c.accept(msg(4, 'agent'));
  assert.equal(c.readIsNew(2), false);
  assert.equal(c.readIsNew(4), true);
  assert.equal(c.seenSeq(), 1);
  assert.equal(c.peerRead(4), true);
  assert.equal(c.peerRead(3), false, 'never backwards');
  assert.equal(c.seenSeq(), 3, 'our own newest message, not the peer\'s');
  c.welcome(welcome(4, { read_seq: 1 }));
  assert.equal(c.readSent, 2, 'a lower stored mark does not move ours back');
});

test('an empty conversation is known from the welcome', () => {
  const c = new Conversation('agent');
  c.welcome(welcome(0, { peer_online: false }));
  assert.equal(c.isEmpty(), true);
  c.accept(msg(1, 'agent'));
  assert.equal(c.isEmpty(), false);
  const d = new Conversation('agent');
  d.welcome(welcome(5, { peer_online: false }));
  assert.equal(d.isEmpty(), false, 'since>0 brings no messages but the conversation exists');
});

// Private notes and internal events hold seqs the customer never gets:
// their items say `prev` (PROTOCOL.md), so the page sees no false gap.
test('seqs hidden from the customer are no gap and no lost history', () => {
  const c = new Conversation('customer');
  assert.deepEqual(c.welcome(welcome(7)), { reset: false });
  // Seqs 3, 4 and 6 are notes or internal events.
  for (const m of [msg(1), msg(2, 'agent'), msg(5, 'customer', { prev: 2 }), msg(7, 'agent', { prev: 5 })]) {
    assert.equal(c.accept(m).result, 'added');
  }
  assert.equal(c.findGap(), null, 'nothing is missing');
  assert.equal(c.olderExhausted, true, 'seq 1 is the beginning');
  assert.deepEqual(c.welcome(welcome(7)), { reset: false }, 'a reconnect is no reset');
  assert.equal(c.since(), 7);
});

test('a real hole is still found when items around hidden seqs are missing', () => {
  const c = new Conversation('customer');
  c.welcome(welcome(9));
  c.accept(msg(2, 'customer', { prev: 0 }));
  c.accept(msg(9, 'agent', { prev: 6 }));
  assert.deepEqual(c.findGap(), { before: 9, missing: 6 }, 'seq 6 is one the customer sees');
  c.accept(msg(6, 'agent', { prev: 2 }), true);
  assert.equal(c.findGap(), null);
  assert.equal(c.atBeginning(), true, 'the first item the customer sees is seq 2');
  assert.equal(c.accept(msg(4, 'agent', { prev: 4 })).result, 'invalid', 'prev is below seq');
});

test('"Seen" never goes under a private note or an event', () => {
  const c = new Conversation('agent');
  c.welcome(welcome(3, { peer_read_seq: 3 }));
  c.accept(msg(1, 'agent'));
  c.accept(msg(2, 'agent', { private: true }));
  c.accept(msg(3, 'agent', { event: { kind: 'resolved' }, private: true }));
  assert.equal(c.seenSeq(), 1);
});

test('a queued message keeps its files through a reload', () => {
  const c = new Conversation('customer');
  c.outbox.add('m1', '', false, [{ id: 'f1', name: 'a.png', size: 3, type: 'image/png', width: 1, height: 1 }, null]);
  const restored = new Conversation('customer');
  const [entry] = restored.outbox.restore(JSON.parse(JSON.stringify(c.outbox.saved())));
  assert.deepEqual(entry.attachments.map((a) => a.id), ['f1']);
  assert.equal(entry.text, '');
});
