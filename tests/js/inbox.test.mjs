// The console list's rules (static/inbox.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, matches, previewOf, whoOf } from '../../static/inbox.mjs';

const t = (key, vars) => (key === 'previewMine' ? `You: ${vars.text}` : key);

test('search ignores case; ids and status still filter', () => {
  const row = { client_id: 'load-12', status: 'open' };
  assert.equal(matches({ status: 'open', search: 'LOAD-12' }, row), true);
  assert.equal(matches({ status: 'all', search: 'Ad-1' }, row), true);
  assert.equal(matches({ status: 'open', search: 'load-13' }, row), false);
  assert.equal(matches({ status: 'resolved', search: '' }, row), false);
});

test('waiting first, longest wait first, then newest activity', () => {
  const rows = [
    { client_id: 'b', waiting: false, last_activity: '2026-01-01T10:00:00Z' },
    { client_id: 'w2', waiting: true, waiting_since: '2026-01-01T09:00:00Z' },
    { client_id: 'a', waiting: false, last_activity: '2026-01-01T11:00:00Z' },
    { client_id: 'w1', waiting: true, waiting_since: '2026-01-01T08:00:00Z' },
  ];
  assert.deepEqual(rows.sort(compare).map((r) => r.client_id), ['w1', 'w2', 'a', 'b']);
});

test('the agents\' own last message is prefixed once, the customer\'s not at all', () => {
  assert.equal(previewOf({ last_seq: 2, last_from: 'agent', preview: 'Yes, we do.' }, t), 'You: Yes, we do.');
  assert.equal(previewOf({ last_seq: 2, last_from: 'customer', preview: 'Hi' }, t), 'Hi');
  assert.equal(previewOf({ last_seq: 0 }, t), 'noMessages');
});

test('a row names the customer by the name or email they gave, else by id', () => {
  assert.equal(whoOf({ client_id: 'abc', contact: null }), 'abc');
  assert.equal(whoOf({ client_id: 'abc', contact: { name: 'Ana', email: 'a@b.co' } }), 'Ana');
  assert.equal(whoOf({ client_id: 'abc', contact: { name: null, email: 'a@b.co' } }), 'a@b.co');
  assert.equal(whoOf({ client_id: 'abc', contact: { name: '  ', email: null } }), 'abc');
});

test('views: Mine is what is assigned to me, Unassigned the queue', () => {
  const mine = { client_id: 'a', status: 'open', assignee: { id: 3, name: 'Ana' } };
  const theirs = { client_id: 'b', status: 'open', assignee: { id: 4, name: 'Ben' } };
  const queued = { client_id: 'c', status: 'open', assignee: null };
  const q = (view) => ({ status: 'open', search: '', view, me: 3 });
  assert.deepEqual([mine, theirs, queued].filter((s) => matches(q('mine'), s)), [mine]);
  assert.deepEqual([mine, theirs, queued].filter((s) => matches(q('unassigned'), s)), [queued]);
  assert.equal([mine, theirs, queued].filter((s) => matches(q('all'), s)).length, 3);
  assert.equal(matches({ status: 'resolved', search: '', view: 'mine', me: 3 }, mine), false);
});

test('the label filter keeps conversations with that label', () => {
  const vip = { client_id: 'a', status: 'open', labels: [{ id: 1, name: 'VIP', color: '#ff0000' }] };
  const plain = { client_id: 'b', status: 'open', labels: [] };
  const q = { status: 'open', search: '', view: 'all', me: 3, label: 1 };
  assert.deepEqual([vip, plain].filter((s) => matches(q, s)), [vip]);
  assert.equal(matches({ ...q, label: null }, plain), true);
});

test('search finds a row by the name or email the customer gave', () => {
  const row = { client_id: 'x1', status: 'open', contact: { name: 'Ana Lima', email: null } };
  const q = (search) => ({ status: 'open', search, view: 'all' });
  assert.equal(matches(q('lima'), row), true);
  assert.equal(matches(q('x1'), row), true);
  assert.equal(matches(q('shop'), row), false);
  assert.equal(matches(q('lima'), { client_id: 'x2', status: 'open', contact: null }), false);
});
