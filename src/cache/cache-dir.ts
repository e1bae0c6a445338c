// Owns the on-disk cache layout. Everything is content-addressed or keyed by a digest of
// its inputs, and written atomically (write a private temp file, then rename), so two
// processes sharing one cache never see a partial file and never corrupt each other:
//   blobs/sha256/<hex>     downloaded files (InRelease, indexes, .debs), verified before rename
//   index/<hex>.idx        parsed Packages indexes, keyed by the index's sha256
//   verified/<hex>.json    InRelease signature results, keyed by InRelease + keyring digests
//   facts/, layers/        per-package facts and built-layer records (build/)
//   registry-blobs/<host>  which repositories of a registry hold which blobs (push mounts)
//   locks/adhoc/<key>.*    ad-hoc environments (`strata shell git curl`): the generated spec
//                          (.yaml) and its lock (.lock.json), keyed by the request (env/)
//   rootfs/layers/<diffid> unpacked layers, one directory per layer DiffID, files read-only
//   rootfs/envs/<key>      environments assembled from unpacked layers by hard links
//   rootfs/targets/<key>.json  what a spec and lock, a request or an image resolves to
//   rootfs/in-use/<key>.<pid>  markers of running sandboxes, which `strata cache gc` spares
//   tmp/                   private temp files; stale ones are removed by `strata cache gc`
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { StrataError } from '../errors.js';
import { isSha256Hex, type Sha256Hex } from '../digest/sha256.js';

/** $STRATA_CACHE_DIR, else $XDG_CACHE_HOME/strata, else ~/.cache/strata. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_CACHE_DIR) return env.STRATA_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'strata');
  return join(homedir(), '.cache', 'strata');
}

export class CacheDir {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  static async open(root: string = defaultCacheRoot()): Promise<CacheDir> {
    try {
      await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
      await mkdir(join(root, 'tmp'), { recursive: true });
    } catch (e) {
      throw new StrataError('CACHE_ERROR', `cannot create the cache directory ${root}: ${(e as Error).message}`, {
        cause: e,
        hint: 'pass --cache-dir DIR (or set STRATA_CACHE_DIR) to a writable directory',
      });
    }
    return new CacheDir(root);
  }

  blobPath(hex: Sha256Hex): string {
    if (!isSha256Hex(hex)) throw new StrataError('INTERNAL', `not a sha256: ${hex}`);
    return join(this.root, 'blobs', 'sha256', hex);
  }

  async hasBlob(hex: Sha256Hex): Promise<boolean> {
    try {
      return (await stat(this.blobPath(hex))).isFile();
    } catch {
      return false;
    }
  }

  /** A fresh private path under tmp/ on the cache's file system, for rename-into-place. */
  tempPath(label = 'tmp'): string {
    return join(this.root, 'tmp', `${label.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40)}.${process.pid}.${randomBytes(6).toString('hex')}`);
  }

  /** Moves a verified temp file into the blob store. Idempotent across processes. */
  async commitBlob(tempFile: string, hex: Sha256Hex): Promise<string> {
    const target = this.blobPath(hex);
    await rename(tempFile, target);
    return target;
  }

  /** The unpacked tree of the layer whose DiffID (uncompressed sha256) is `diffHex`. */
  layerTreePath(diffHex: Sha256Hex): string {
    if (!isSha256Hex(diffHex)) throw new StrataError('INTERNAL', `not a sha256: ${diffHex}`);
    return join(this.root, 'rootfs', 'layers', diffHex);
  }

  /** The assembled environment with key `key` (a sha256 of its layers). */
  envTreePath(key: Sha256Hex): string {
    if (!isSha256Hex(key)) throw new StrataError('INTERNAL', `not a sha256: ${key}`);
    return join(this.root, 'rootfs', 'envs', key);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Writes a keyed (non-blob) file atomically; an array of pieces is written one after the other. */
  async writeAtomic(relative: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
    const target = join(this.root, relative);
    await mkdir(dirname(target), { recursive: true });
    const temp = this.tempPath('w');
    try {
      if (Array.isArray(data)) {
        const handle = await open(temp, 'w');
        try {
          for (const piece of data as readonly Uint8Array[]) await handle.write(piece);
        } finally {
          await handle.close();
        }
      } else {
        await writeFile(temp, data as string | Uint8Array);
      }
      await rename(temp, target);
    } catch (e) {
      await rm(temp, { force: true });
      throw new StrataError('CACHE_ERROR', `cannot write ${target}: ${(e as Error).message}`, { cause: e });
    }
  }

  async readOptional(relative: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.root, relative));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StrataError('CACHE_ERROR', `cannot read ${join(this.root, relative)}: ${(e as Error).message}`, { cause: e });
    }
  }
}
