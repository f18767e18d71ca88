import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fileUrl, formatSize, isImage, MAX_FILES, pastedName, screen, uploadErrorKey, uploadUrl,
} from '../../static/attachments.mjs';
import { STRINGS } from '../../static/strings.mjs';

test('customers upload and fetch with their signature, agents with their token', () => {
  const params = new URLSearchParams('sig=abc&token=leak&lang=zh');
  assert.equal(uploadUrl('customer', 'c 1', 'a b.png', params), '/chat/client/c%201/attachments?sig=abc&name=a+b.png');
  assert.equal(uploadUrl('agent', 'c1', 'x.pdf', params), '/api/conversations/c1/attachments?token=leak&name=x.pdf');
  const a = { id: 'f00d' };
  assert.equal(fileUrl('customer', 'c1', a, true, params), '/chat/client/c1/attachments/f00d/thumbnail?sig=abc');
  assert.equal(fileUrl('agent', 'c1', a, false, new URLSearchParams()), '/api/conversations/c1/attachments/f00d');
});

test('only measured images show as thumbnails', () => {
  assert.equal(isImage({ type: 'image/png', width: 10, height: 5 }), true);
  assert.equal(isImage({ type: 'application/pdf' }), false);
  assert.equal(isImage({ type: 'image/svg+xml' }), false);
});

test('sizes read like people write them', () => {
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(1536), '1.5 KB');
  assert.equal(formatSize(200 * 1024), '200 KB');
  assert.equal(formatSize(2.5 * 1024 * 1024), '2.5 MB');
});

test('too big, empty and one too many files are refused before uploading', () => {
  const files = [{ name: 'a', size: 5 }, { name: 'big', size: 11 * 1024 * 1024 }, { name: 'empty', size: 0 }];
  const { accepted, refused } = screen(files);
  assert.deepEqual(accepted.map((f) => f.name), ['a']);
  assert.deepEqual(refused.map((r) => r.key), ['fileTooLarge', 'fileEmpty']);
  const full = screen([{ name: 'one more', size: 1 }], MAX_FILES);
  assert.deepEqual(full.refused, [{ name: 'one more', key: 'tooManyFiles' }]);
});

test('every upload failure has words in both languages', () => {
  const keys = [
    uploadErrorKey(413, 'payload_too_large'), uploadErrorKey(413, 'quota_exceeded'), uploadErrorKey(415, 'file_refused'),
    uploadErrorKey(429, 'rate_limited'), uploadErrorKey(401, 'unauthorized'), uploadErrorKey(500, ''),
    'tooManyFiles', 'fileEmpty', 'attach', 'cancelUpload', 'removeFile', 'dropFiles', 'uploading', 'openImage', 'download',
  ];
  assert.equal(new Set(keys.slice(0, 6)).size, 6, 'each failure its own words');
  for (const key of keys) {
    assert.equal(typeof STRINGS.en[key], 'string', key);
    assert.equal(typeof STRINGS.zh[key], 'string', key);
  }
});

test('a pasted image gets a dated name with its type', () => {
  assert.equal(pastedName('image/png', new Date('2026-12-05T22:50:01Z')), 'pasted-20261205-225001.png');
  assert.equal(pastedName('application/x-unknown', new Date(0)), 'pasted-19700101-000000.bin');
});
