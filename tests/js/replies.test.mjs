// Saved replies offered in the composer (static/replies.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slashQuery, suggest } from '../../static/replies.mjs';

const replies = [
  { id: 1, shortcut: 'hello', name: 'Greeting', text: 'Hi! How can I help?' },
  { id: 2, shortcut: 'refund', name: 'Refund policy', text: 'Refunds take 5 days.' },
  { id: 3, shortcut: 'ship', name: 'Shipping times', text: 'We ship in 24 h.' },
];

test('a leading slash asks for a saved reply; anything else does not', () => {
  assert.equal(slashQuery('/'), '');
  assert.equal(slashQuery('/Ref'), 'ref');
  assert.equal(slashQuery('/ref now'), null, 'a space means a message');
  assert.equal(slashQuery('see /ref'), null);
  assert.equal(slashQuery(''), null);
});

test('shortcuts that start with the query come first, then names that contain it', () => {
  assert.deepEqual(suggest(replies, '').map((r) => r.id), [1, 2, 3]);
  assert.deepEqual(suggest(replies, 'sh').map((r) => r.id), [3]);
  assert.deepEqual(suggest(replies, 'polic').map((r) => r.id), [2], 'by name');
  assert.deepEqual(suggest(replies, 'RE').map((r) => r.id), [2, 1], 'refund by shortcut, then Greeting by name');
  assert.deepEqual(suggest(replies, 'zzz'), []);
  assert.equal(suggest(replies, '', 2).length, 2);
});
