// The pre-chat form: asked, required, skipped, and what it sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { askedFields, missingRequired, formNeeded, contactFrame } from '../../static/prechat.mjs';

const both = { name: 'optional', email: 'required' };

test('only fields that are not off are asked', () => {
  assert.deepEqual(askedFields({ name: 'off', email: 'off' }), []);
  assert.deepEqual(askedFields(both), ['name', 'email']);
  assert.deepEqual(askedFields({ name: 'required', email: 'off' }), ['name']);
  assert.deepEqual(askedFields(undefined), []);
});

test('the form is shown before the first message until required fields are given', () => {
  assert.equal(formNeeded(both, null, true, false), true);
  assert.equal(formNeeded(both, null, true, true), true, 'a required field cannot be skipped');
  assert.equal(formNeeded(both, { email: 'a@b.co' }, true, false), true, 'an optional one is still asked');
  assert.equal(formNeeded(both, { email: 'a@b.co' }, true, true), false, 'until skipped');
  assert.equal(formNeeded(both, null, false, false), false, 'never once the chat has begun');
  assert.equal(formNeeded({ name: 'off', email: 'off' }, null, true, false), false);
  assert.equal(formNeeded({ name: 'optional', email: 'off' }, null, true, true), false);
  assert.deepEqual(missingRequired(both, { name: 'Ana' }), ['email']);
});

test('a filled form becomes a contact frame; required blanks are reported', () => {
  assert.deepEqual(contactFrame(both, { name: ' Ana ', email: 'ana@example.com' }),
    { frame: { type: 'contact', name: 'Ana', email: 'ana@example.com' }, missing: [] });
  assert.deepEqual(contactFrame(both, { name: 'Ana', email: ' ' }).missing, ['email']);
  assert.deepEqual(contactFrame(both, { email: 'a@b.co' }).frame, { type: 'contact', email: 'a@b.co' });
  assert.equal(contactFrame({ name: 'optional', email: 'off' }, { name: '' }).frame, null);
});
