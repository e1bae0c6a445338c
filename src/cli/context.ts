// Owns what several commands share: opening the cache, loading the spec and its lockfile,
// writing a lockfile atomically, and turning library progress events into a progress line.
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StrataError } from '../errors.js';
import { CacheDir, defaultCacheRoot } from '../cache/cache-dir.js';
import type { ProgressEvent } from '../debian/archive.js';
import { formatLockfile, parseLockfile, type Lockfile } from '../debian/lockfile.js';
import { defaultLockfilePath, loadSpec, type ParsedSpecMemo } from '../spec/load-spec.js';
import type { LoadedSpec, Spec } from '../spec/spec.js';
import { STRATA_VERSION } from '../version.js';
import type { ParsedArgs } from './command.js';
import { formatBytes, type Output } from './output.js';
import { onInterrupt, removeOwnTempFiles } from './interrupt.js';

export async function openCacheFromArgs(args: ParsedArgs): Promise<CacheDir> {
  const dir = args.options['cache-dir'];
  const cache = await CacheDir.open(typeof dir === 'string' ? resolve(dir) : defaultCacheRoot());
  // An interrupt removes this process's temporary files (downloads, spills, layers in progress).
  onInterrupt(() => removeOwnTempFiles(cache.path('tmp')));
  return cache;
}

export function lockfilePathFor(args: ParsedArgs, specPath: string): string {
  const given = args.options.lockfile;
  return typeof given === 'string' ? resolve(given) : defaultLockfilePath(resolve(specPath));
}

export async function readLockfileOptional(path: string): Promise<Lockfile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StrataError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseLockfile(text, path);
}

export async function readLockfileRequired(path: string, specPath: string): Promise<Lockfile> {
  const lock = await readLockfileOptional(path);
  if (lock === undefined) {
    throw new StrataError('LOCK_NOT_FOUND', `${path} does not exist`, { hint: `run \`strata lock ${specPath}\` first` });
  }
  return lock;
}

/** Parsed specs kept in the cache (specs/), by strata's version and the memo's key. */
export function parsedSpecMemo(cache: CacheDir): ParsedSpecMemo {
  const file = (key: string) => `specs/${key}.${STRATA_VERSION}.json`;
  return {
    async get(key) {
      const raw = await cache.readOptional(file(key));
      if (raw === undefined) return undefined;
      try {
        return JSON.parse(raw.toString('utf8')) as Spec;
      } catch {
        return undefined;
      }
    },
    put: (key, spec) => cache.writeAtomic(file(key), JSON.stringify(spec)),
  };
}

/** Loads the spec and its lockfile, refusing a lock whose inputs no longer match. */
export async function loadSpecAndLock(args: ParsedArgs, specPath: string, memo?: ParsedSpecMemo): Promise<{ loaded: LoadedSpec; lock: Lockfile; lockPath: string }> {
  const loaded = await loadSpec(specPath, memo);
  const lockPath = lockfilePathFor(args, specPath);
  const lock = await readLockfileRequired(lockPath, specPath);
  const { staleReasons } = await import('../build/lock-inputs.js');
  const stale = staleReasons(loaded, lock);
  if (stale.length > 0) {
    throw new StrataError('LOCK_STALE', `${lockPath} does not match ${specPath}: ${stale.join('; ')}`, {
      detail: { reasons: stale },
      hint: `run \`strata lock ${specPath}\` to update the lock`,
    });
  }
  return { loaded, lock, lockPath };
}

/** Whether a file is a tar archive (an oci-archive or a docker-archive): the ustar magic of its first header. */
export async function isTarFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(263);
    const { bytesRead } = await handle.read(head, 0, 263, 0);
    return bytesRead === 263 && head.toString('latin1', 257, 262) === 'ustar';
  } finally {
    await handle.close();
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw new StrataError('IO_ERROR', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export async function writeLockfile(path: string, lock: Lockfile): Promise<void> {
  await writeFileAtomic(path, formatLockfile(lock));
}

export function archiveProgress(out: Output): (e: ProgressEvent) => void {
  return (e) => {
    if (e.kind === 'download') out.progress(`downloading ${e.what} ${formatBytes(e.received)}${e.total ? ` / ${formatBytes(e.total)}` : ''}`);
    else if (e.kind === 'parse') out.progress(`parsing ${e.what}`);
  };
}
