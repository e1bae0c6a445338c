import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { gzipChunkedSync } from './gzip-chunked.js';
import { gzipHeaderDifferences, parseGzipHeader } from './gzip-header.js';

test("strata's pinned gzip header: no time stamp, no name, XFL 0, OS 3", () => {
  const h = parseGzipHeader(gzipChunkedSync(Buffer.from('hello')))!;
  assert.deepEqual([h.method, h.flags, h.mtime, h.xfl, h.os, h.name, h.length], [8, 0, 0, 0, 3, undefined, 10]);
});

test('a header with a time stamp and a file name, as gzip(1) writes one', () => {
  const bytes = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0x08]), Buffer.from([0x80, 0xf1, 0x53, 0x65]), Buffer.from([0, 3]), Buffer.from('layer.tar\0', 'latin1'), gzipSync('x').subarray(10)]);
  const h = parseGzipHeader(bytes)!;
  assert.equal(h.mtime, 0x6553f180);
  assert.equal(h.name, 'layer.tar');
  assert.equal(h.length, 20);
  assert.deepEqual(gzipHeaderDifferences(parseGzipHeader(gzipChunkedSync(Buffer.from('x')))!, h), [
    { field: 'FLG', a: '0x00', b: '0x08' },
    { field: 'MTIME', a: '0', b: String(0x6553f180) },
    { field: 'FNAME', a: '(none)', b: '"layer.tar"' },
  ]);
});

test('level 9 sets XFL 2: a compressor difference in the header', () => {
  const h = parseGzipHeader(gzipSync('x', { level: 9 }))!;
  assert.equal(h.xfl, 2);
});

test('not gzip, or a truncated header: undefined', () => {
  assert.equal(parseGzipHeader(Buffer.from('ustar')), undefined);
  assert.equal(parseGzipHeader(Buffer.from([0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3, 0x61])), undefined);
});
