import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xzDecompressedSize } from './xz-index.js';
import { decompressXzBatch, hostXz, XzRangeDecoder } from './decompress.js';

const xzBytes = (data: Buffer, args: string[] = []): Buffer => {
  const r = spawnSync('xz', ['-c', ...args], { input: data, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0);
  return r.stdout;
};

function sample(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = i % 7 === 0 ? x >>> 24 : 0x61 + (i % 13);
  }
  return b;
}

const skip = hostXz() === null ? 'no xz on this host' : false;

test('the size an xz file records: one stream, several blocks, concatenated streams, padding', { skip }, () => {
  const a = sample(100_000, 1);
  const b = sample(3_000_000, 2);
  assert.equal(xzDecompressedSize(xzBytes(a)), a.length);
  assert.equal(xzDecompressedSize(xzBytes(b, ['--block-size=1MiB', '-T1'])), b.length);
  assert.equal(xzDecompressedSize(Buffer.concat([xzBytes(a), Buffer.alloc(8), xzBytes(b)])), a.length + b.length);
  assert.equal(xzDecompressedSize(xzBytes(Buffer.alloc(0))), 0);
  assert.equal(xzDecompressedSize(Buffer.from('not xz at all, not at all')), undefined);
  assert.equal(xzDecompressedSize(xzBytes(a).subarray(0, 200)), undefined);
});

test('a batch of xz inputs decodes with one xz run; a bad one makes the batch undefined', { skip }, async () => {
  const inputs = [sample(5000, 3), sample(70_000, 4), Buffer.alloc(0)];
  const out = await decompressXzBatch(inputs.map((i) => xzBytes(i)));
  assert.ok(out !== undefined);
  assert.deepEqual(out.map((o) => o.length), inputs.map((i) => i.length));
  out.forEach((o, i) => assert.ok(o.equals(inputs[i]!)));
  assert.equal(await decompressXzBatch([xzBytes(inputs[0]!), Buffer.from('garbage!')]), undefined);
});

test('the xz range decoder writes a member of a file to its output, and names a corrupt one', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-xz-'));
  try {
    const data = sample(200_000, 5);
    const packed = xzBytes(data);
    await writeFile(join(dir, 'in.bin'), Buffer.concat([Buffer.from('HEADER--'), packed, Buffer.from('\ntrailer')]));
    await writeFile(join(dir, 'out.tar'), '');
    await writeFile(join(dir, 'bad.tar'), '');
    const decoder = new XzRangeDecoder(dir);
    try {
      assert.equal(await decoder.decode('in.bin', 8, packed.length, 'out.tar', 'in.bin data')!, true);
      assert.ok((await readFile(join(dir, 'out.tar'))).equals(data));
      await assert.rejects(decoder.decode('in.bin', 0, packed.length, 'bad.tar', 'in.bin bad')!, /in\.bin bad: corrupt compressed data/);
      assert.equal(decoder.decode('in put.bin', 0, 1, 'out.tar', 'x'), undefined);
    } finally {
      await decoder.close();
    }
    // Without xargs the runner cannot start: the job comes back undone, for the caller to run.
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const alone = new XzRangeDecoder(dir);
      for (let i = 0; i < 3; i++) {
        const job = alone.decode('in.bin', 8, packed.length, 'out.tar', 'in.bin data');
        if (job !== undefined) assert.equal(await job, false);
      }
      await alone.close();
    } finally {
      process.env.PATH = path;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
