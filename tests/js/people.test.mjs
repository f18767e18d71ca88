import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentOf, senderOf, typistOf } from '../../static/people.mjs';

const ana = { id: 1, name: 'Ana' };
const ben = { id: 2, name: 'Ben' };

test('a customer sees the name of the agent who answered', () => {
  assert.deepEqual(senderOf('agent', ana, 'customer', null), { name: 'Ana' });
  assert.deepEqual(senderOf('agent', null, 'customer', null), { role: 'agent' });
  assert.deepEqual(senderOf('customer', null, 'customer', null), { me: true });
});

test('an agent sees their own replies as theirs and colleagues by name', () => {
  assert.deepEqual(senderOf('agent', ana, 'agent', ana), { me: true });
  assert.deepEqual(senderOf('agent', ben, 'agent', ana), { name: 'Ben' });
  assert.deepEqual(senderOf('agent', null, 'agent', ana), { me: true }, 'older replies have no author');
  assert.deepEqual(senderOf('customer', null, 'agent', ana), { role: 'customer' });
});

test('malformed authors are ignored, never shown', () => {
  assert.equal(agentOf({ id: '1', name: 'Ana' }), null);
  assert.equal(agentOf({ id: 1, name: '  ' }), null);
  assert.equal(agentOf('Ana'), null);
  assert.deepEqual(senderOf('agent', { id: 1 }, 'customer', null), { role: 'agent' });
});

test('typing is shown by name, and only from someone else', () => {
  assert.deepEqual(typistOf({ role: 'agent', author: ana }, 'customer'), { name: 'Ana' });
  assert.deepEqual(typistOf({ role: 'customer' }, 'agent'), { role: 'customer' });
  assert.deepEqual(typistOf({ role: 'agent', author: ben }, 'agent'), { name: 'Ben' }, 'a colleague');
  assert.equal(typistOf({ role: 'customer' }, 'customer'), null);
  assert.equal(typistOf({ role: 'agent' }, 'agent'), null);
  assert.equal(typistOf({ role: 'robot' }, 'agent'), null);
});
