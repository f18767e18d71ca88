// Every UI string exists in both languages, with the same placeholders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRINGS } from '../../static/strings.mjs';

const vars = (s) => (s.match(/\{\w+\}/g) || []).sort();

test('English and Chinese have the same keys and placeholders', () => {
  assert.deepEqual(Object.keys(STRINGS.zh).sort(), Object.keys(STRINGS.en).sort());
  for (const [key, en] of Object.entries(STRINGS.en)) assert.deepEqual(vars(STRINGS.zh[key]), vars(en), key);
});
