// The UI strings (static/strings.mjs): every key once per language, and
// the same keys in English and Chinese. A key written twice silently gives
// one page's text to another (the login page once said "Your email address").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { STRINGS } from '../../static/strings.mjs';

const source = readFileSync(new URL('../../static/strings.mjs', import.meta.url), 'utf8');

/** The keys written in `lang`'s object, in source order. */
function keysWritten(lang) {
  const start = source.indexOf(`  ${lang}: {`);
  const next = source.indexOf('\n  }', start);
  return [...source.slice(start, next).matchAll(/^ {4}([A-Za-z_0-9]+): /gm)].map((m) => m[1]);
}

for (const lang of ['en', 'zh']) {
  test(`${lang}: no key is written twice`, () => {
    const seen = new Set();
    const twice = keysWritten(lang).filter((k) => seen.has(k) || !seen.add(k));
    assert.deepEqual(twice, []);
  });
}

test('English and Chinese have the same keys', () => {
  assert.deepEqual(Object.keys(STRINGS.zh).sort(), Object.keys(STRINGS.en).sort());
});
