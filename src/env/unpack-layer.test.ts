import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { isStrataError } from '../errors.js';
import { encodeHeader, type TarEntry } from '../archive/tar-header.js';
import { tarToBuffer } from '../archive/tar-writer.js';
import { unpackLayerBlob } from './unpack-layer.js';

const M = 1700000000;
const dir = (path: string, mode = 0o755): { entry: TarEntry } => ({ entry: { path, type: 'directory', mode, uid: 0, gid: 0, size: 0, mtime: M } });
const file = (path: string, text: string, mode = 0o644): { entry: TarEntry; content: Buffer } => ({ entry: { path, type: 'file', mode, uid: 0, gid: 0, size: Buffer.byteLength(text), mtime: M }, content: Buffer.from(text) });
const sym = (path: string, target: string): { entry: TarEntry } => ({ entry: { path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: M, linkname: target } });
const hard = (path: string, target: string): { entry: TarEntry } => ({ entry: { path, type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: M, linkname: target } });

async function withBlob(tar: Buffer, fn: (blob: string, diffId: string, work: string) => Promise<void>): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'strata-unpack-'));
  try {
    const blob = join(work, 'layer.tar.gz');
    await writeFile(blob, gzipSync(tar));
    await fn(blob, `sha256:${createHash('sha256').update(tar).digest('hex')}`, work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const unpack = (blob: string, diffId: string, work: string) => unpackLayerBlob(blob, 'gzip', diffId, join(work, 'out'), join(work, 'tmp-tree'));

async function rejectsUnsafe(tar: Buffer, why: RegExp): Promise<void> {
  await withBlob(tar, async (blob, diffId, work) => {
    await assert.rejects(unpack(blob, diffId, work), (e: unknown) => isStrataError(e, 'IMAGE_INVALID') && why.test(e.message));
    assert.deepEqual((await readdir(work)).sort(), ['layer.tar.gz'], 'nothing is left behind');
  });
}

test('a layer unpacks with its files, links and directories; files lose write and setuid bits', async () => {
  const tar = await tarToBuffer([
    dir('./usr'),
    dir('./usr/bin'),
    file('./usr/bin/tool', '#!/bin/sh\n', 0o4755),
    hard('./usr/bin/tool2', './usr/bin/tool'),
    sym('./usr/bin/t', 'tool'),
    file('etc/conf', 'x=1\n', 0o600),
    dir('var/tmp', 0o1777),
  ]);
  await withBlob(tar, async (blob, diffId, work) => {
    await unpack(blob, diffId, work);
    const out = join(work, 'out');
    assert.equal(await readFile(join(out, 'usr/bin/tool'), 'utf8'), '#!/bin/sh\n');
    assert.equal((await stat(join(out, 'usr/bin/tool'))).mode & 0o7777, 0o555, 'no write bits, no setuid');
    assert.equal((await stat(join(out, 'etc/conf'))).mode & 0o7777, 0o400);
    assert.equal((await stat(join(out, 'usr/bin/tool2'))).ino, (await stat(join(out, 'usr/bin/tool'))).ino, 'a hard link stays one');
    assert.equal(await readlink(join(out, 'usr/bin/t')), 'tool');
    assert.equal((await stat(join(out, 'var/tmp'))).mode & 0o7777, 0o1777, 'the sticky bit stays');
    assert.equal((await stat(join(out, 'usr/bin/tool'))).mtime.getTime(), M * 1000, 'mtimes come from the layer');
  });
});

test('".." anywhere in a path is refused and nothing is unpacked', async () => {
  await rejectsUnsafe(await tarToBuffer([dir('a'), file('a/../../escape', 'x')]), /climbs out/);
});

test('a path through a symlink of the layer is refused (no write outside the tree)', async () => {
  await rejectsUnsafe(await tarToBuffer([sym('etc', '/etc'), file('etc/passwd', 'root::0:0::/:/bin/sh\n')]), /goes through etc, which is a symlink/);
  await rejectsUnsafe(await tarToBuffer([sym('up', '..'), file('up/x', 'x')]), /which is a symlink/);
});

test('a hard link must name a file earlier in the layer', async () => {
  await rejectsUnsafe(await tarToBuffer([hard('x', '/etc/shadow')]), /not a file earlier in the layer/);
  await rejectsUnsafe(await tarToBuffer([hard('x', '../outside')]), /not a file earlier in the layer/);
});

test('the uncompressed bytes must hash to the DiffID', async () => {
  const tar = await tarToBuffer([file('a', 'a')]);
  await withBlob(tar, async (blob, _diffId, work) => {
    await assert.rejects(unpack(blob, `sha256:${'0'.repeat(64)}`, work), (e: unknown) => isStrataError(e, 'IMAGE_INVALID') && /hashes to/.test(e.message));
    assert.deepEqual(await readdir(work), ['layer.tar.gz']);
  });
});

test('device nodes are skipped; a later entry replaces an earlier one', async () => {
  const dev: TarEntry = { path: 'dev/null', type: 'char', mode: 0o666, uid: 0, gid: 0, size: 0, mtime: M };
  const rest = await tarToBuffer([file('f', 'old'), file('f', 'new'), sym('l', 'a'), file('l', 'now a file')]);
  const tar = Buffer.concat([encodeHeader({ ...dev, path: 'dev', type: 'directory', mode: 0o755 }), encodeHeader(dev), rest]);
  await withBlob(tar, async (blob, diffId, work) => {
    await unpack(blob, diffId, work);
    const out = join(work, 'out');
    assert.deepEqual(await readdir(join(out, 'dev')), []);
    assert.equal(await readFile(join(out, 'f'), 'utf8'), 'new');
    assert.ok((await lstat(join(out, 'l'))).isFile());
  });
});

test('an existing tree is kept (another process unpacked the same layer first)', async () => {
  const tar = await tarToBuffer([file('a', 'a')]);
  await withBlob(tar, async (blob, diffId, work) => {
    await unpack(blob, diffId, work);
    await unpack(blob, diffId, work);
    assert.deepEqual((await readdir(work)).sort(), ['layer.tar.gz', 'out']);
  });
});
