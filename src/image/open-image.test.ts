import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStrataError } from '../errors.js';
import { looksLikeRegistryReference, openImage, parseImageRef } from './open-image.js';

test('references: transports, PATH:TAG split only where PATH exists, registry references', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ref-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const layout = join(dir, 'img.oci');
  await mkdir(layout);
  const archive = join(dir, 'img.tar');
  await writeFile(archive, '');
  assert.deepEqual(await parseImageRef(layout), { kind: 'local', path: layout });
  assert.deepEqual(await parseImageRef(`${layout}:v1`), { kind: 'local', path: layout, tag: 'v1' });
  assert.deepEqual(await parseImageRef(`oci:${layout}:v1`), { kind: 'local', path: layout, tag: 'v1', format: 'oci' });
  assert.deepEqual(await parseImageRef(`oci-archive:${archive}`), { kind: 'local', path: archive, format: 'oci-archive' });
  assert.deepEqual(await parseImageRef(`docker-archive:${archive}:strata/x:latest`), { kind: 'local', path: archive, tag: 'strata/x:latest', format: 'docker-archive' });
  assert.deepEqual(await parseImageRef('docker://127.0.0.1:5000/a/b:c'), { kind: 'registry', reference: '127.0.0.1:5000/a/b:c' });
  assert.deepEqual(await parseImageRef('127.0.0.1:5000/a/b:c'), { kind: 'registry', reference: '127.0.0.1:5000/a/b:c' });
  assert.deepEqual(await parseImageRef(join(dir, 'missing.oci')), { kind: 'local', path: join(dir, 'missing.oci') });
  assert.equal(looksLikeRegistryReference('ghcr.io/org/img@sha256:' + '0'.repeat(64)), true);
  assert.equal(looksLikeRegistryReference('plain'), false);
});

test('openImage: a missing path, a directory that is no layout; a registry reached only as the client allows', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ref-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(openImage(join(dir, 'none')), (e) => isStrataError(e, 'IMAGE_NOT_FOUND'));
  await assert.rejects(openImage(dir), (e) => isStrataError(e, 'IMAGE_INVALID') && /not an OCI image layout/.test(e.message));
  // Registry references go to the registry client: plain HTTP is refused for a non-loopback host
  // before anything is sent.
  await assert.rejects(openImage('docker://registry.example/x:1', { registry: { insecure: true } }), (e) => isStrataError(e, 'USAGE') && /only allowed for a registry on a loopback address/.test(e.message));
});
