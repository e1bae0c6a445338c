import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { CacheDir } from '../cache/cache-dir.js';
import { isStrataError } from '../errors.js';
import { canonicalJson } from '../digest/canonical-json.js';
import { tarToBuffer } from '../archive/tar-writer.js';
import { openEnvironment } from './open-env.js';
import { ENV_FORMAT } from './rootfs-cache.js';

const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A one-layer OCI layout by hand: /etc/hello. */
async function tinyLayout(dir: string, architecture = 'amd64'): Promise<void> {
  const tar = await tarToBuffer([
    { entry: { path: 'etc', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 } },
    { entry: { path: 'etc/hello', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 6, mtime: 0 }, content: Buffer.from('hello\n') },
  ]);
  const gz = gzipSync(tar);
  const config = Buffer.from(canonicalJson({ architecture, os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${hex(tar)}`] } }));
  const manifest = Buffer.from(
    canonicalJson({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${hex(config)}`, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hex(gz)}`, size: gz.length }],
    }),
  );
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of [gz, config, manifest]) await writeFile(join(dir, 'blobs', 'sha256', hex(b)), b);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(dir, 'index.json'), canonicalJson({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${hex(manifest)}`, size: manifest.length }] }));
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
