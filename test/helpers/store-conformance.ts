// The one conformance suite every BlobStore driver must pass (src/store/blob-store.ts): blobs
// verified before they become visible, idempotent writes, ranges, records replaced atomically
// and listed in byte order, hostile digests and keys refused, and concurrent writers of the
// same blob. A driver's test file calls storeConformance with a way to open a fresh store.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAll, type BlobStore } from '../../src/store/blob-store.js';
import { isStrataError } from '../../src/errors.js';

const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function* slowly(bytes: Buffer, size = 1000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) {
    await new Promise((r) => setImmediate(r));
    yield bytes.subarray(i, i + size);
  }
}

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => isStrataError(e) && e.code === code);
}

export function storeConformance(driver: string, openStore: () => Promise<BlobStore>): void {
  describe(`BlobStore conformance: ${driver}`, () => {
    test('a blob written is read back whole and by range; stat gives its size', async () => {
      const store = await openStore();
      const bytes = randomBytes(300_000);
      const digest = digestOf(bytes);
      assert.equal(await store.stat(digest), undefined);
      assert.equal(await store.read(digest), undefined);
      await store.write(digest, slowly(bytes), bytes.length);
      assert.deepEqual(await store.stat(digest), { size: bytes.length });
      assert.ok((await readAll((await store.read(digest))!)).equals(bytes));
      const part = await readAll((await store.read(digest, { start: 1000, end: 200_999 }))!);
      assert.ok(part.equals(bytes.subarray(1000, 201_000)));
      const last = await readAll((await store.read(digest, { start: bytes.length - 1, end: bytes.length - 1 }))!);
      assert.deepEqual([...last], [bytes[bytes.length - 1]]);
      await store.write(digest, bytes); // idempotent
      assert.deepEqual(await store.stat(digest), { size: bytes.length });
      await store.close?.();
    });

    test('content that does not match its digest or size is refused and leaves nothing', async () => {
      const store = await openStore();
      const bytes = randomBytes(5000);
      const wrong = digestOf(Buffer.from('something else'));
      await rejects(store.write(wrong, bytes), 'DIGEST_INVALID');
      assert.equal(await store.stat(wrong), undefined);
      const digest = digestOf(bytes);
      await rejects(store.write(digest, bytes, 4999), 'DIGEST_INVALID');
      assert.equal(await store.stat(digest), undefined);
      // A stream that fails half-way leaves nothing either.
      async function* broken() {
        yield bytes.subarray(0, 100);
        throw new Error('connection reset');
      }
      await assert.rejects(store.write(digest, broken()));
      assert.equal(await store.stat(digest), undefined);
      await store.close?.();
    });

    test('hostile digests are refused before any path is built', async () => {
      const store = await openStore();
      for (const d of ['sha256:../../etc/passwd', 'sha256:' + 'A'.repeat(64), 'sha512:' + 'a'.repeat(128), 'sha256:' + 'a'.repeat(63), '../x', '']) {
        await rejects(store.stat(d), 'DIGEST_INVALID');
        await rejects(store.read(d), 'DIGEST_INVALID');
        await rejects(store.write(d, Buffer.from('x')), 'DIGEST_INVALID');
      }
      await store.close?.();
    });

    test('concurrent writers of one blob all succeed and the blob is whole', async () => {
      const store = await openStore();
      const bytes = randomBytes(200_000);
      const digest = digestOf(bytes);
      await Promise.all(Array.from({ length: 8 }, () => store.write(digest, slowly(bytes, 7000), bytes.length)));
      assert.ok((await readAll((await store.read(digest))!)).equals(bytes));
      await store.close?.();
    });

    test('records are replaced whole, listed under a prefix in byte order, and keys are checked', async () => {
      const store = await openStore();
      assert.equal(await store.readRecord('t/a'), undefined);
      assert.deepEqual(await store.listRecords('t/'), []);
      await store.writeRecord('t/b/x', Buffer.from('1'));
      await store.writeRecord('t/a', Buffer.from('2'));
      await store.writeRecord('t/B', Buffer.from('3'));
      await store.writeRecord('u/a', Buffer.from('4'));
      await store.writeRecord('t/a', Buffer.from('22'));
      assert.equal(Buffer.from((await store.readRecord('t/a'))!).toString(), '22');
      assert.deepEqual(await store.listRecords('t/'), ['t/B', 't/a', 't/b/x']);
      assert.deepEqual(await store.listRecords('t/b/'), ['t/b/x']);
      for (const k of ['../x', 't/../../x', '/abs', 't//a', 't/a b', '']) {
        await assert.rejects(store.writeRecord(k, Buffer.from('x')));
      }
      if (store.deleteRecord) {
        await store.deleteRecord('t/a');
        assert.equal(await store.readRecord('t/a'), undefined);
      }
      await store.close?.();
    });

    test('pump (when offered) sends the blob and ranges through reused buffers, each chunk valid until its write resolves', async (t) => {
      const store = await openStore();
      if (store.pump === undefined) {
        t.skip(`${driver} has no pump; callers fall back to read`);
        return;
      }
      const bytes = randomBytes(1_500_000);
      const digest = digestOf(bytes);
      await store.write(digest, bytes);
      const collect = async (range?: { start: number; end: number }) => {
        const copies: Buffer[] = [];
        const seen = new Set<ArrayBuffer>();
        const found = await store.pump!(digest, range, async (chunk) => {
          await new Promise((r) => setTimeout(r, 1)); // a slow socket: the pump must wait
          copies.push(Buffer.from(chunk));
          seen.add(chunk.buffer as ArrayBuffer);
        });
        assert.equal(found, true);
        return { data: Buffer.concat(copies), buffers: seen.size };
      };
      const all = await collect();
      assert.ok(all.data.equals(bytes));
      assert.ok(all.buffers < 8, 'buffers are reused');
      assert.ok((await collect({ start: 300_001, end: 1_200_000 })).data.equals(bytes.subarray(300_001, 1_200_001)));
      // Two pumps at once do not share buffers.
      const [a, b] = await Promise.all([collect(), collect({ start: 5, end: 999_999 })]);
      assert.ok(a.data.equals(bytes));
      assert.ok(b.data.equals(bytes.subarray(5, 1_000_000)));
      assert.equal(await store.pump(digestOf(Buffer.from('absent')), undefined, async () => undefined), false);
      await assert.rejects(store.pump(digest, undefined, async () => {
        throw new Error('client gone');
      }), /client gone/);
      await store.close?.();
    });

    test('writeFile (when offered) stores a verified local file', async (t) => {
      const store = await openStore();
      if (store.writeFile === undefined) {
        t.skip(`${driver} has no writeFile; callers fall back to write`);
        return;
      }
      const dir = await mkdtemp(join(tmpdir(), 'strata-store-'));
      const bytes = randomBytes(70_000);
      const path = join(dir, 'blob');
      await writeFile(path, bytes);
      await store.writeFile(digestOf(bytes), path, bytes.length);
      assert.ok((await readAll((await store.read(digestOf(bytes)))!)).equals(bytes));
      await assert.rejects(store.writeFile(digestOf(Buffer.from('y')), path, 3));
      await store.close?.();
    });
  });
}
