// The console's rules (static/inbox.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  badgeText, beyondLoaded, compare, countOf, idFromHash, inboxState, isNewCustomerMessage, listFrame, listState,
  matches, previewOf, validSummary, whoOf,
} from '../../static/inbox.mjs';

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

test('only summaries with a valid client id are listed', () => {
  assert.equal(validSummary({ client_id: 'load-12' }), true);
  for (const bad of [null, undefined, {}, { client_id: 7 }, { client_id: '' }, { client_id: 'a b' }, { client_id: 'x'.repeat(65) }]) {
    assert.equal(validSummary(bad), false, JSON.stringify(bad));
  }
});

test('the address names the open conversation, percent-encoded or not, and nothing else', () => {
  assert.equal(idFromHash('#load-12'), 'load-12');
  assert.equal(idFromHash('#load%2D12'), 'load-12');
  assert.equal(idFromHash(''), null);
  assert.equal(idFromHash('#'), null);
  assert.equal(idFromHash('#a%20b'), null, 'decoded, still not an id');
  assert.equal(idFromHash('#%E0%A4%A'), null, 'broken escapes are no id');
});

test('counts are positive safe integers; badges say 99+ beyond two digits', () => {
  assert.deepEqual([3, 0, -1, 1.5, '4', null, 2 ** 53].map(countOf), [3, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([0, 9, 99, 100, 12345].map(badgeText), ['0', '9', '99', '99+', '99+']);
});

test('a list request carries the query, the cursor and a search only when there is one', () => {
  const q = { status: 'open', search: '', view: 'mine', me: 3, label: null };
  assert.deepEqual(listFrame(q, null, 50, 1),
    { type: 'list', status: 'open', view: 'mine', label: null, cursor: null, limit: 50, request: 1 });
  assert.deepEqual(listFrame({ ...q, search: 'ana', label: 2 }, 'c1', 50, 2),
    { type: 'list', status: 'open', view: 'mine', label: 2, cursor: 'c1', limit: 50, request: 2, search: 'ana' });
});

test('a pushed row past the loaded pages waits for its page; with every page loaded it shows', () => {
  const at = (client_id, last_activity) => ({ client_id, waiting: false, last_activity });
  const boundary = at('m', '2026-01-01T10:00:00Z');
  const older = at('z', '2026-01-01T09:00:00Z');
  const newer = at('a', '2026-01-01T11:00:00Z');
  assert.equal(beyondLoaded(older, 'cursor', boundary), true);
  assert.equal(beyondLoaded(newer, 'cursor', boundary), false);
  assert.equal(beyondLoaded(older, null, boundary), false, 'no more pages: everything is loaded');
  assert.equal(beyondLoaded(older, 'cursor', null), false);
});

test('the list line says loading, then empty or no match, else nothing', () => {
  assert.equal(listState({ loading: true, rows: 3, search: '' }), 'loading');
  assert.equal(listState({ loading: false, rows: 0, search: '' }), 'empty');
  assert.equal(listState({ loading: false, rows: 0, search: 'ana' }), 'nomatch');
  assert.equal(listState({ loading: false, rows: 2, search: 'ana' }), 'idle');
});

test('the inbox badge: open, logged out, offline, then connecting or reconnecting', () => {
  const base = { open: false, halted: null, offline: false, waiting: false };
  assert.deepEqual(inboxState({ ...base, open: true, offline: true }), ['connected', 'connected']);
  assert.deepEqual(inboxState({ ...base, halted: 'logged-out', offline: true }), ['offline', 'loggedOutShort']);
  assert.deepEqual(inboxState({ ...base, offline: true, waiting: true }), ['offline', 'offline']);
  assert.deepEqual(inboxState(base), ['reconnecting', 'connecting']);
  assert.deepEqual(inboxState({ ...base, waiting: true }), ['reconnecting', 'reconnecting']);
});

test('news is a customer message past the last seq seen, or a fresh one never seen', () => {
  const now = Date.parse('2026-01-01T10:00:00Z');
  const s = (extra) => ({ client_id: 'a', last_from: 'customer', last_seq: 5, last_activity: '2026-01-01T09:59:55Z', ...extra });
  assert.equal(isNewCustomerMessage(s(), 4, now), true);
  assert.equal(isNewCustomerMessage(s(), 5, now), false, 'a presence or read change');
  assert.equal(isNewCustomerMessage(s({ last_from: 'agent' }), 4, now), false);
  assert.equal(isNewCustomerMessage(s({ last_seq: null }), undefined, now), false);
  assert.equal(isNewCustomerMessage(s(), undefined, now), true, 'never seen, 5 s old');
  assert.equal(isNewCustomerMessage(s({ last_activity: '2026-01-01T09:00:00Z' }), undefined, now), false, 'never seen, an hour old');
  assert.equal(isNewCustomerMessage(s({ last_activity: undefined }), undefined, now), false);
});
