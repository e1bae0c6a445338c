import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { CHUNK_SIZE, gzipChunkedSync } from './gzip-chunked.js';
import { DeflatePool } from './deflate-pool.js';
import { GzipStream } from './gzip-stream.js';
import { GOLDEN_SHA256, selectDeflateImpl, selfTestInput } from './gzip-self-test.js';
import { createHash } from 'node:crypto';

function sample(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = i % 7 === 0 ? x >>> 24 : 0x61 + ((x >>> 16) % 6);
  }
  return b;
}

const SIZES = [0, 1, 1000, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 12345];

test('the header is fixed: no mtime, no name, OS 3', () => {
  const g = gzipChunkedSync(Buffer.from('x'));
  assert.deepEqual([...g.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
});

test('node:zlib and pako give identical bytes, and the output gunzips to the input', () => {
  for (const size of SIZES) {
    const data = sample(size, size + 7);
    const node = gzipChunkedSync(data, 'node');
    const pako = gzipChunkedSync(data, 'pako');
    assert.ok(node.equals(pako), `node and pako differ at size ${size}`);
    assert.ok(gunzipSync(node).equals(data), `round trip at size ${size}`);
  }
});

test('the self-test recognises this Node\'s zlib, and the golden digest is pako\'s', () => {
  assert.equal(createHash('sha256').update(gzipChunkedSync(selfTestInput(), 'pako')).digest('hex'), GOLDEN_SHA256);
  assert.equal(selectDeflateImpl(), 'node');
});

test('any number of workers and any write sizes give the same bytes', async () => {
  const data = sample(3 * CHUNK_SIZE + 777, 42);
  const expected = gzipChunkedSync(data);
  for (const workers of [0, 1, 3]) {
    const pool = new DeflatePool(workers, 'node');
    try {
      for (const step of [4096, 65536 + 3, CHUNK_SIZE, data.length]) {
        const parts: Buffer[] = [];
        const gz = new GzipStream(pool, (c) => {
          parts.push(Buffer.from(c));
        });
        for (let off = 0; off < data.length; off += step) await gz.write(data.subarray(off, Math.min(off + step, data.length)));
        assert.equal(await gz.end(), data.length);
        const got = Buffer.concat(parts);
        assert.ok(got.equals(expected), `workers=${workers} step=${step}`);
        assert.equal(gz.compressedBytes, expected.length);
      }
    } finally {
      await pool.close();
    }
  }
});

test('an empty stream is a valid gzip member', async () => {
  const pool = new DeflatePool(0, 'pako');
  const parts: Buffer[] = [];
  const gz = new GzipStream(pool, (c) => {
    parts.push(c);
  });
  await gz.end();
  assert.ok(Buffer.concat(parts).equals(gzipChunkedSync(Buffer.alloc(0))));
  assert.equal(gunzipSync(Buffer.concat(parts)).length, 0);
});
