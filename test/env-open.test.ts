// Opening an image as an environment through the library (no CLI, no sandbox): a second open
// is a hit on the target record, and an image for another architecture is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheDir } from '../src/cache/cache-dir.js';
import { isStrataError } from '../src/errors.js';
import { tarToBuffer } from '../src/archive/tar-writer.js';
import { openEnvironment } from '../src/env/open-env.js';
import { ENV_FORMAT } from '../src/env/rootfs-cache.js';
import { writeOneLayerLayout } from './helpers/one-layer-layout.js';

/** A one-layer OCI layout by hand: /etc/hello. */
async function tinyLayout(dir: string, architecture = 'amd64'): Promise<void> {
  const tar = await tarToBuffer([
    { entry: { path: 'etc', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 } },
    { entry: { path: 'etc/hello', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 6, mtime: 0 }, content: Buffer.from('hello\n') },
  ]);
  await writeOneLayerLayout(dir, tar, architecture);
}

test('a second open of the same image is a hit: the target record is read back, nothing is unpacked again', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'strata-open-env-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const layout = join(work, 'tiny.oci');
  await tinyLayout(layout);
  const cache = await CacheDir.open(join(work, 'cache'));
  const phases: string[] = [];
  const opts = { cache, architecture: 'amd64', onProgress: (p: { phase: string }) => phases.push(p.phase) };
  const first = await openEnvironment({ kind: 'image', ref: layout }, opts);
  assert.equal(first.cold, true);
  assert.equal(await readFile(join(first.root, 'etc', 'hello'), 'utf8'), 'hello\n');
  assert.ok(phases.includes('unpack'));
  phases.length = 0;
  const second = await openEnvironment({ kind: 'image', ref: layout }, opts);
  assert.equal(second.cold, false, 'the record written by the first open must be readable by the second');
  assert.equal(second.root, first.root);
  assert.deepEqual(phases, []);
  const [record] = await readdir(join(work, 'cache', 'rootfs', 'targets'));
  assert.equal((JSON.parse(await readFile(join(work, 'cache', 'rootfs', 'targets', record!), 'utf8')) as { format: number }).format, ENV_FORMAT);
});

test('an image for another architecture is refused before anything is unpacked, saying how to get one for this machine', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'strata-open-env-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const layout = join(work, 'arm.oci');
  await tinyLayout(layout, 'arm64');
  const cache = await CacheDir.open(join(work, 'cache'));
  await assert.rejects(
    openEnvironment({ kind: 'image', ref: layout }, { cache, architecture: 'amd64' }),
    (e) => isStrataError(e, 'IMAGE_INVALID') && /is for linux\/arm64, and this machine is linux\/amd64/.test(e.message) && /--arch amd64/.test(e.hint ?? ''),
  );
  await assert.rejects(readdir(join(work, 'cache', 'rootfs', 'layers')), 'nothing was unpacked');
});
