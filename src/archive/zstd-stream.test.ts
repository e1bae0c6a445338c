import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeflatePool } from './deflate-pool.js';
import { ZstdStream } from './zstd-stream.js';
import { ZSTD_CHUNK_SIZE } from './zstd-frames.js';
import { decompress } from './decompress.js';

function sample(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = i % 5 === 0 ? x >>> 24 : 0x61 + ((x >>> 16) % 7);
  }
  return b;
}

async function compressAll(data: Buffer, pool: DeflatePool, step: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const z = new ZstdStream(pool, (c) => {
    parts.push(Buffer.from(c));
  });
  for (let off = 0; off < data.length; off += step) await z.write(data.subarray(off, Math.min(off + step, data.length)));
  assert.equal(await z.end(), data.length);
  const out = Buffer.concat(parts);
  assert.equal(z.compressedBytes, out.length);
  return out;
}

async function inflate(z: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of decompress((async function* () {
    yield z;
  })(), 'zstd', 'test')) parts.push(c);
  return Buffer.concat(parts);
}

test('chunked zstd: frames decode to the input, and any worker count or write size gives the same bytes', async () => {
  const data = sample(2 * ZSTD_CHUNK_SIZE + 12345, 7);
  let expected: Buffer | undefined;
  for (const workers of [0, 1, 3]) {
    const pool = new DeflatePool(workers, 'node');
    try {
      for (const step of [65536 + 1, ZSTD_CHUNK_SIZE, data.length]) {
        const z = await compressAll(data, pool, step);
        expected ??= z;
        assert.ok(z.equals(expected), `workers=${workers} step=${step}`);
      }
    } finally {
      await pool.close();
    }
  }
  assert.deepEqual([...expected!.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'a zstd frame');
  assert.ok((await inflate(expected!)).equals(data));
});

test('an empty layer is one valid empty frame', async () => {
  const pool = new DeflatePool(0, 'node');
  const z = await compressAll(Buffer.alloc(0), pool, 1);
  assert.ok(z.length > 0);
  assert.equal((await inflate(z)).length, 0);
});
