// Owns getting every locked .deb into the cache, verified by the sha256 the lock pins. Each
// .deb is looked up along a chain: the cache, the mirror's pool for its suite, then the
// spec's fallbacks (another mirror or a snapshot in pool layout, a plain folder in flat
// layout, or a `strata vendor` folder). A mirror that dropped a superseded version is the
// normal case this chain exists for.
import { basename } from 'node:path';
import { StrataError, isStrataError } from '../errors.js';
import type { CacheDir } from '../cache/cache-dir.js';
import type { NetworkOptions } from '../debian/download.js';
import type { LockedPackage, Lockfile } from '../debian/lockfile.js';
import type { Fallback } from '../spec/spec.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import type { SourceConfig } from './sources.js';

export interface FetchProgress {
  done: number;
  total: number;
  bytes: number;
  name: string;
  fromCache: boolean;
}

export interface FetchOptions {
  cache: CacheDir;
  net?: NetworkOptions;
  concurrency?: number;
  onProgress?: (p: FetchProgress) => void;
}

function join(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export function candidateUrls(pkg: LockedPackage, sources: SourceConfig): string[] {
  const urls: string[] = [];
  for (const s of sources.suites) if (s.suite === pkg.suite) urls.push(join(s.uri, pkg.filename));
  for (const s of sources.suites) {
    const u = join(s.uri, pkg.filename);
    if (!urls.includes(u)) urls.push(u);
  }
  for (const f of sources.fallbacks as Fallback[]) urls.push(join(f.url, f.layout === 'flat' ? basename(pkg.filename) : pkg.filename));
  return urls;
}

/** Ensures one .deb is in the cache; returns its cache path. `sources` may be read only when needed. */
export async function fetchDeb(pkg: LockedPackage, sourcesOrRead: SourceConfig | (() => Promise<SourceConfig>), opts: FetchOptions): Promise<{ path: string; fromCache: boolean }> {
  if (await opts.cache.hasBlob(pkg.sha256)) return { path: opts.cache.blobPath(pkg.sha256), fromCache: true };
  const sources = typeof sourcesOrRead === 'function' ? await sourcesOrRead() : sourcesOrRead;
  const { download } = await import('../debian/download.js');
  const what = `${pkg.name}_${pkg.version}_${pkg.architecture}.deb`;
  const attempts: string[] = [];
  let mismatch: StrataError | undefined;
  for (const url of candidateUrls(pkg, sources)) {
    try {
      const got = await download(opts.cache, { url, what, expectSha256: pkg.sha256, expectSize: pkg.size, mismatchCode: 'DEB_HASH_MISMATCH' }, opts.net);
      if (got !== undefined) return { path: got.path, fromCache: false };
      attempts.push(`${url}: not found`);
    } catch (e) {
      if (!isStrataError(e)) throw e;
      attempts.push(`${url}: ${e.code}`);
      if (e.code === 'DEB_HASH_MISMATCH') mismatch ??= e;
      else if (!['FETCH_FAILED', 'FETCH_TIMEOUT', 'FETCH_TRUNCATED', 'NETWORK_UNREACHABLE'].includes(e.code)) throw e;
    }
  }
  if (mismatch !== undefined) {
    throw new StrataError('DEB_HASH_MISMATCH', `${what}: no source has the locked bytes (sha256 ${pkg.sha256}); ${attempts.join('; ')}`, {
      cause: mismatch,
      detail: { package: pkg.name, version: pkg.version, sha256: pkg.sha256, attempts },
      hint: 'a source serves different bytes than the lock pins; nothing was kept. Use another mirror or a fallback',
    });
  }
  throw new StrataError('DEB_NOT_FOUND', `${what} (sha256 ${pkg.sha256}) is in no configured source; tried ${attempts.join('; ')}`, {
    detail: { package: pkg.name, version: pkg.version, sha256: pkg.sha256, attempts },
    hint: 'the mirror dropped this version: run `strata lock --update SPEC` to move to the current one, or add a snapshot or `strata vendor` folder under source.fallbacks',
  });
}

/** Every package of every architecture of the lock, in a stable order. */
export function lockedPackages(lock: Lockfile, architectures?: string[]): LockedPackage[] {
  const seen = new Set<string>();
  const out: LockedPackage[] = [];
  for (const arch of Object.keys(lock.architectures).sort()) {
    if (architectures !== undefined && !architectures.includes(arch)) continue;
    for (const p of lock.architectures[arch]!.packages) {
      if (seen.has(p.sha256)) continue;
      seen.add(p.sha256);
      out.push(p);
    }
  }
  return out;
}

export async function fetchDebs(packages: LockedPackage[], sources: SourceConfig | (() => Promise<SourceConfig>), opts: FetchOptions): Promise<Map<string, string>> {
  let done = 0;
  let bytes = 0;
  const paths = await mapConcurrent(packages, opts.concurrency ?? 4, async (pkg) => {
    const got = await fetchDeb(pkg, sources, opts);
    done++;
    if (!got.fromCache) bytes += pkg.size;
    opts.onProgress?.({ done, total: packages.length, bytes, name: pkg.name, fromCache: got.fromCache });
    return got.path;
  });
  return new Map(packages.map((p, i) => [p.sha256, paths[i]!]));
}
