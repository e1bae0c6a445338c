// Owns unpacking one layer blob into a directory of the rootfs cache, safely:
//   - paths are normalised and a `..` component is refused, so nothing lands outside the tree;
//   - nothing is created through a symlink: every parent of an entry must be a directory this
//     unpacking made (a layer cannot plant `a -> /etc` and then write `a/passwd`), and files
//     are opened with O_EXCL | O_NOFOLLOW in a fresh private directory;
//   - the uncompressed bytes must hash to the layer's DiffID, or nothing is kept;
//   - modes are applied without write bits (the cache is read-only: a hard-linked file is
//     shared by every environment) and without setuid/setgid bits (a sandbox runs with
//     no_new_privs, where they do nothing, and outside it a root-owned setuid binary in a
//     cache is a risk); owners are not applied, even as root: every file belongs to whoever
//     unpacked it (see below); device nodes and FIFOs are skipped (the sandbox mounts its own
//     /dev); extended attributes (file capabilities) are not applied.
// Why no owners: the sandbox maps one ID, the one the command runs as, to the invoking user,
// and files of any other owner show as `nobody` with only the "other" permission bits. Owners
// applied by root would lock the image's user out of its own directories (git.yaml's
// /home/git is 0750 git:git) and hand host users who happen to have those IDs writable
// directories in root's cache. Owned by the invoker, every file shows as the command's user.
// The tree is written under tmp/ and renamed into place, so a reader never sees half of it.
import { createReadStream } from 'node:fs';
import { chmod, constants, link, lutimes, mkdir, open, rename, rm, symlink, utimes } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { StrataError, isStrataError } from '../errors.js';
import { decompress, type Compression } from '../archive/decompress.js';
import { readTar } from '../archive/tar-reader.js';
import type { TarEntry } from '../archive/tar-header.js';
import { normalisePath, parentDirs } from '../debian/merged-usr.js';

type Kind = 'dir' | 'file' | 'symlink';

/** File modes in the cache: no write bits, no setuid/setgid; directories keep sticky. */
export function cacheFileMode(mode: number): number {
  return mode & 0o555;
}

export function cacheDirMode(mode: number): number {
  // The owner (the invoker, whose ID the command runs as) must be able to read and enter it.
  return (mode & 0o1777) | 0o500;
}

function unsafe(what: string, why: string): StrataError {
  return new StrataError('IMAGE_INVALID', `${what}: ${why}`, { hint: 'the layer is malformed or hostile; strata unpacks nothing from it' });
}

/** A tap over an async iterable that hashes every chunk pulled, and that the tar reader
 * cannot stop early (it has no `return`): the caller drains the rest for the full digest. */
function hashingSource(source: AsyncIterable<Buffer>): { tap: AsyncIterable<Buffer>; drain(): Promise<string> } {
  const it = source[Symbol.asyncIterator]();
  const hash = createHash('sha256');
  const next = async (): Promise<IteratorResult<Buffer>> => {
    const r = await it.next();
    if (r.done !== true) hash.update(r.value);
    return r;
  };
  return {
    tap: { [Symbol.asyncIterator]: () => ({ next }) },
    async drain() {
      while ((await next()).done !== true);
      return hash.digest('hex');
    },
  };
}

/**
 * Unpacks the tar stream `tar` (uncompressed bytes) into `dir`, which must not exist; `dir`
 * must be on a private path (tmp/). Returns the sha256 of the tar bytes.
 */
export async function unpackTar(tar: AsyncIterable<Buffer>, dir: string, what: string): Promise<string> {
  await mkdir(dir, { mode: 0o700 });
  const kinds = new Map<string, Kind>();
  const dirs = new Map<string, TarEntry>();
  const remove = async (rel: string) => {
    const was = kinds.get(rel);
    await rm(join(dir, rel), { recursive: true, force: true });
    kinds.delete(rel);
    dirs.delete(rel);
    if (was === 'dir') {
      for (const k of [...kinds.keys()]) if (k.startsWith(`${rel}/`)) {
        kinds.delete(k);
        dirs.delete(k);
      }
    }
  };
  const { tap, drain } = hashingSource(tar);
  for await (const { entry, body } of readTar(tap, what)) {
    const rel = normalisePath(entry.path);
    if (rel === 'escapes') throw unsafe(what, `${JSON.stringify(entry.path)} climbs out of the layer with ".."`);
    if (rel === 'nul') throw unsafe(what, `an entry's path holds a NUL byte`);
    if (rel === '' || entry.type === 'char' || entry.type === 'block' || entry.type === 'fifo' || entry.type === 'other') {
      for await (const _ of body); // the root's own entry and device nodes: nothing to make
      continue;
    }
    for (const parent of parentDirs(rel)) {
      const k = kinds.get(parent);
      if (k === undefined) {
        await mkdir(join(dir, parent), { mode: 0o700 });
        kinds.set(parent, 'dir');
      } else if (k !== 'dir') {
        throw unsafe(what, `${JSON.stringify(entry.path)} goes through ${parent}, which is a ${k === 'symlink' ? 'symlink' : 'file'}`);
      }
    }
    const existing = kinds.get(rel);
    if (existing !== undefined && !(existing === 'dir' && entry.type === 'directory')) await remove(rel);
    const path = join(dir, rel);
    switch (entry.type) {
      case 'directory':
        if (existing !== 'dir') await mkdir(path, { mode: 0o700 });
        kinds.set(rel, 'dir');
        dirs.set(rel, entry);
        break;
      case 'file': {
        const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body) await handle.write(chunk);
          await handle.chmod(cacheFileMode(entry.mode));
          await handle.utimes(entry.mtime, entry.mtime);
        } finally {
          await handle.close();
        }
        kinds.set(rel, 'file');
        break;
      }
      case 'symlink':
        await symlink(entry.linkname ?? '', path);
        await lutimes(path, entry.mtime, entry.mtime);
        kinds.set(rel, 'symlink');
        break;
      case 'hardlink': {
        const target = normalisePath(entry.linkname ?? '');
        if (typeof target !== 'string' || target === '' || target === 'escapes' || target === 'nul' || kinds.get(target) !== 'file') {
          throw unsafe(what, `hard link ${JSON.stringify(entry.path)} points to ${JSON.stringify(entry.linkname)}, which is not a file earlier in the layer`);
        }
        await link(join(dir, target), path);
        kinds.set(rel, 'file');
        break;
      }
    }
  }
  const digest = await drain();
  // Directories last, deepest first: a read-only mode must not stop the unpacking of children.
  for (const rel of [...dirs.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1))) {
    const entry = dirs.get(rel)!;
    const path = join(dir, rel);
    await chmod(path, cacheDirMode(entry.mode));
    await utimes(path, entry.mtime, entry.mtime);
  }
  for (const [rel, kind] of kinds) if (kind === 'dir' && !dirs.has(rel)) await chmod(join(dir, rel), 0o755);
  await chmod(dir, 0o755);
  return digest;
}

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  yield* createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
}

/** Where a layer's stored bytes come from: a blob file, or a stream (an archive member, a registry). */
export type LayerBytes = string | (() => AsyncIterable<Buffer>);

/**
 * Unpacks a layer blob (gzip, zstd or plain tar) into `target` unless it is there already,
 * checking its DiffID; `temp` is a fresh path on the same file system.
 */
export async function unpackLayerBlob(blob: LayerBytes, compression: Compression, diffId: string, target: string, temp: string): Promise<void> {
  const what = `layer ${diffId}`;
  try {
    const digest = await unpackTar(decompress(typeof blob === 'string' ? fileChunks(blob) : blob(), compression, what), temp, what);
    if (`sha256:${digest}` !== diffId) throw new StrataError('IMAGE_INVALID', `${what}: the uncompressed layer hashes to sha256:${digest}`, { hint: 'the blob is corrupt or does not belong to this image' });
    await mkdir(join(target, '..'), { recursive: true });
    try {
      await rename(temp, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      // Another process unpacked the same layer first: its tree is the same.
      await rm(temp, { recursive: true, force: true });
    }
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    if (isStrataError(e)) {
      if (e.code === 'DEB_INVALID') throw new StrataError('IMAGE_INVALID', e.message, { cause: e });
      throw e;
    }
    throw new StrataError('CACHE_ERROR', `cannot unpack ${what} into the cache: ${(e as Error).message}`, { cause: e });
  }
}
