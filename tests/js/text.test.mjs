// DOM-free text helpers (static/text.mjs): links and times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitLinks, formatTime, charCount, normalizeText, newMessageId } from '../../static/text.mjs';

const links = (text) => splitLinks(text).filter((p) => p.href).map((p) => p.href);

test('http and https URLs become links, the rest stays text', () => {
  assert.deepEqual(splitLinks('See https://example.com/orders/12345?ref=abc now'), [
    { text: 'See ' },
    { text: 'https://example.com/orders/12345?ref=abc', href: 'https://example.com/orders/12345?ref=abc' },
    { text: ' now' },
  ]);
  assert.deepEqual(links('http://a.example and HTTPS://B.example/x'), ['http://a.example/', 'https://b.example/x']);
  assert.deepEqual(splitLinks('plain text'), [{ text: 'plain text' }]);
  assert.deepEqual(splitLinks(''), [{ text: '' }]);
});

test('other schemes are never links', () => {
  for (const text of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'ftp://files.example/x',
    'mailto:a@b.example', 'https://', 'xhttps://evil.example']) {
    assert.deepEqual(links(text), [], text);
  }
  // Only the http(s) URL itself is linked, never what is glued before it.
  assert.deepEqual(splitLinks('javascript:https://x.example'), [
    { text: 'javascript:' }, { text: 'https://x.example', href: 'https://x.example/' },
  ]);
});

test('punctuation that ends a sentence stays outside the link', () => {
  assert.deepEqual(links('Go to https://example.com/a.'), ['https://example.com/a']);
  assert.deepEqual(links('(see https://example.com/a)'), ['https://example.com/a']);
  assert.deepEqual(links('https://en.wikipedia.org/wiki/Rust_(language)'), ['https://en.wikipedia.org/wiki/Rust_(language)']);
  assert.deepEqual(links('链接：https://example.cn/订单。谢谢'), ['https://example.cn/%E8%AE%A2%E5%8D%95']);
  assert.deepEqual(links('"https://example.com/q"'), ['https://example.com/q']);
});

test('the text of every part adds up to the message', () => {
  const text = 'a https://x.example/1, b http://y.example/2! c';
  assert.equal(splitLinks(text).map((p) => p.text).join(''), text);
});

test('times have no leading zero on the hour', () => {
  const at = new Date(2026, 10, 26, 21, 50).toISOString();
  const morning = new Date(2026, 10, 26, 9, 5).toISOString();
  const sameDay = new Date(2026, 10, 26, 23, 0);
  assert.match(formatTime(at, 'en-US', sameDay), /^9:50\s?PM$/u, 'not "09:50 PM"');
  assert.match(formatTime(morning, 'en-US', sameDay), /^9:05\s?AM$/u);
  assert.match(formatTime(morning, 'zh-CN', sameDay), /^(上午)?9:05$/u);
  assert.match(formatTime(at, 'en-US', new Date(2026, 10, 28)), /^11\/26\/2026 9:50\s?PM$/u);
  assert.equal(formatTime('not a time', 'en-US'), '');
});

test('characters are counted as the server counts them; blank edges go', () => {
  assert.equal(charCount('👍你好'), 3);
  assert.equal(normalizeText('\n\n  indented\nline  \n'), '  indented\nline');
});

test('a message id names its role, its time and 40 random bits, in 23 characters', () => {
  const fixed = { getRandomValues: (bytes) => bytes.fill(0xab) };
  assert.equal(newMessageId('customer', fixed, 0x18f2a3b4c5d), 'c-18f2a3b4c5dababababab');
  assert.equal(newMessageId('agent', fixed, 1), 'a-00000000001ababababab');
  assert.match(newMessageId('customer'), /^c-[0-9a-f]{21}$/);
});

test('one sender\'s message ids sort in the order it sends them', () => {
  const ids = [];
  for (let ms = 1_700_000_000_000; ms < 1_700_000_000_000 + 5000; ms += 7) ids.push(newMessageId('customer', undefined, ms));
  assert.deepEqual([...ids].sort(), ids);
});

test('message ids made within one millisecond differ', () => {
  const ids = new Set();
  for (let i = 0; i < 10000; i++) ids.add(newMessageId('customer', globalThis.crypto, 1_700_000_000_000));
  assert.equal(ids.size, 10000);
  // Without crypto (an old browser, plain http): Math.random still spreads them.
  const fallback = new Set();
  for (let i = 0; i < 1000; i++) fallback.add(newMessageId('agent', null, 1_700_000_000_000));
  assert.equal(fallback.size, 1000);
});
