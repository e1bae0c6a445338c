// The folder store passes the BlobStore conformance suite, and survives what a crash leaves.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsStore } from '../src/store/fs-store.js';
import { storeConformance } from './helpers/store-conformance.js';
import { tempDir } from './helpers/temp.js';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

storeConformance('fs', async () => {
  const root = await tempDir(undefined, 'strata-fs-store-');
  roots.push(root);
  return FsStore.open(root);
});

test('opening the store removes temp files a dead process left a day ago, and only those', async (t) => {
  const root = await tempDir(t, 'strata-fs-store-');
  await mkdir(join(root, 'tmp'), { recursive: true });
  await writeFile(join(root, 'tmp', 'old'), 'x');
  await writeFile(join(root, 'tmp', 'fresh'), 'y');
  const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  await utimes(join(root, 'tmp', 'old'), old, old);
  await FsStore.open(root);
  assert.deepEqual(await readdir(join(root, 'tmp')), ['fresh']);
});
