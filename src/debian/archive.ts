// Owns the trust chain of one suite of an archive: InRelease (signature checked against the
// keyring) → the Packages indexes it lists (sha256 checked before parsing) → parsed records.
// Indexes are fetched by hash when the archive offers it (no race with mirror updates) and
// their parsed form is cached by sha256, so a warm run skips both download and parsing.
import { readFile, rm } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { sha256Hex, type Sha256Hex } from '../digest/sha256.js';
import { compressionOfName, decompressFile } from '../archive/decompress.js';
import type { CacheDir } from '../cache/cache-dir.js';
import { download, DEFAULT_NETWORK, type NetworkOptions } from './download.js';
import { parseRelease, type IndexEntry, type ReleaseInfo } from './release.js';
import { verifyClearsigned, type Keyring } from './signature.js';
import { PackagesParser, decodeIndexChunk } from './package-index.js';
import { PackageIndex, PackageIndexBuilder } from './index-store.js';

export interface SuiteRequest {
  /** The archive root, e.g. the URI of an apt source. */
  uri: string;
  suite: string;
  components: string[];
  architectures: string[];
  keyring: Keyring;
  /** Enforce Valid-Until (resolving anew); off when rebuilding from a lock. */
  checkValidUntil: boolean;
  /** Seconds since the epoch, for the Valid-Until check. */
  now: number;
  /**
   * Reopen an earlier snapshot: the InRelease with this sha256, taken from the cache (it is
   * verified again, like a fresh one); nothing newer is downloaded. Fails with CACHE_ERROR
   * when the cache no longer holds it.
   */
  pinnedInRelease?: Sha256Hex;
}

export interface OpenedIndex {
  component: string;
  architecture: string;
  path: string;
  sha256: Sha256Hex;
  size: number;
  index: PackageIndex;
}

export interface OpenedSuite {
  uri: string;
  suite: string;
  inRelease: { sha256: Sha256Hex; size: number; signedBy: string[] };
  release: ReleaseInfo;
  indexes: OpenedIndex[];
}

export type ProgressEvent =
  | { kind: 'download'; what: string; received: number; total: number | undefined }
  | { kind: 'parse'; what: string }
  | { kind: 'done'; what: string };

export interface ArchiveContext {
  cache: CacheDir;
  net?: NetworkOptions;
  onProgress?: (event: ProgressEvent) => void;
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export async function openSuite(req: SuiteRequest, ctx: ArchiveContext): Promise<OpenedSuite> {
  const net = ctx.net ?? DEFAULT_NETWORK;
  const what = `InRelease of ${req.suite}`;
  const url = joinUrl(req.uri, `dists/${req.suite}/InRelease`);
  const pinned = req.pinnedInRelease;
  const got = pinned !== undefined ? await pinnedFile(ctx.cache, pinned, what) : await download(ctx.cache, {
    url,
    what,
    onBytes: (received, total) => ctx.onProgress?.({ kind: 'download', what, received, total }),
  }, net);
  if (got === undefined) {
    throw new StrataError('FETCH_FAILED', `${what}: ${url} does not exist (404)`, {
      detail: { url },
      hint: `check the suite name ${JSON.stringify(req.suite)} and the mirror URL`,
    });
  }
  const armored = await readFile(got.path, 'utf8');
  const verified = await verifyCached(ctx.cache, armored, got.sha256, req.keyring, `${what} (${url})`);
  const release = parseRelease(verified.text, what);
  if (release.suite !== req.suite && release.codename !== req.suite) {
    throw new StrataError('RELEASE_INVALID', `${what}: the file is for suite ${release.suite} / codename ${release.codename}, not ${req.suite}`, {
      hint: 'the mirror serves another suite under this name; check the mirror URL',
    });
  }
  if (req.checkValidUntil && release.validUntilEpoch !== undefined && req.now > release.validUntilEpoch) {
    throw new StrataError('RELEASE_EXPIRED', `${what}: expired at ${release.validUntil} (Valid-Until); the mirror is stale or replaying old files`, {
      hint: 'use an up-to-date mirror; to rebuild an old lock, use `strata build` (it does not re-check Valid-Until)',
    });
  }
  const indexes: OpenedIndex[] = [];
  const wanted: Array<{ component: string; architecture: string }> = [];
  for (const component of req.components) {
    for (const architecture of req.architectures) wanted.push({ component, architecture });
    // apt's rule: a separate binary-all index is used only when Architectures lists `all` and
    // the archive does not say arch:all packages are in the per-architecture indexes.
    if (release.architectures.includes('all') && !release.noArchAllIndex) wanted.push({ component, architecture: 'all' });
  }
  for (const { component, architecture } of wanted) {
    const entry = pickIndex(release, component, architecture);
    if (entry === undefined) {
      if (architecture === 'all') continue;
      const available = [...release.sha256.keys()].filter((p) => /\/binary-[^/]+\/Packages/.test(p)).map((p) => p.split('/binary-')[0] + ':' + p.split('/binary-')[1]!.split('/')[0]);
      throw new StrataError('INDEX_MISSING', `${what}: no Packages index for ${component}/${architecture}`, {
        detail: { suite: req.suite, component, architecture },
        hint: `this suite offers ${[...new Set(available)].slice(0, 12).join(', ') || 'no binary indexes'}; check source.components and architectures`,
      });
    }
    const index = await loadIndex(req, release, entry, ctx, net);
    indexes.push({ component, architecture, path: entry.path, sha256: entry.sha256, size: entry.size, index });
  }
  return { uri: req.uri, suite: req.suite, inRelease: { sha256: got.sha256, size: got.size, signedBy: verified.signedBy }, release, indexes };
}

async function pinnedFile(cache: CacheDir, sha: Sha256Hex, what: string): Promise<{ path: string; sha256: Sha256Hex; size: number }> {
  const bytes = (await cache.hasBlob(sha)) ? await readFile(cache.blobPath(sha)) : undefined;
  if (bytes === undefined || sha256Hex(bytes) !== sha) {
    throw new StrataError('CACHE_ERROR', `${what}: the snapshot's InRelease (sha256 ${sha}) is no longer in the cache`, {
      hint: 'an earlier snapshot can be reopened only while the cache keeps its files; use the current one',
    });
  }
  return { path: cache.blobPath(sha), sha256: sha, size: bytes.length };
}

function pickIndex(release: ReleaseInfo, component: string, architecture: string): IndexEntry | undefined {
  const base = `${component}/binary-${architecture}/Packages`;
  for (const suffix of ['.xz', '.gz', '']) {
    const e = release.sha256.get(base + suffix);
    if (e !== undefined) return e;
  }
  return undefined;
}

async function verifyCached(cache: CacheDir, armored: string, sha: Sha256Hex, keyring: Keyring, what: string) {
  const keyringSha = sha256Hex(keyring.blobs.map((b) => sha256Hex(b)).join(','));
  const key = `verified/${sha}-${keyringSha}.json`;
  const hit = await cache.readOptional(key);
  if (hit !== undefined) {
    try {
      const parsed = JSON.parse(hit.toString('utf8')) as { text: string; signedBy: string[] };
      if (typeof parsed.text === 'string' && Array.isArray(parsed.signedBy) && parsed.signedBy.length > 0) return parsed;
    } catch {
      // torn or foreign file: verify again
    }
  }
  const verified = await verifyClearsigned(armored, keyring, what);
  await cache.writeAtomic(key, JSON.stringify({ text: verified.text, signedBy: verified.signedBy }));
  return verified;
}

async function loadIndex(req: SuiteRequest, release: ReleaseInfo, entry: IndexEntry, ctx: ArchiveContext, net: NetworkOptions): Promise<PackageIndex> {
  const cached = await ctx.cache.readOptional(indexCacheKey(entry.sha256));
  if (cached !== undefined) {
    const index = PackageIndex.deserialise(cached.toString('latin1'));
    if (index !== undefined) return index;
  }
  const what = `${req.suite}/${entry.path}`;
  let blob = ctx.cache.blobPath(entry.sha256);
  if (!(await ctx.cache.hasBlob(entry.sha256))) {
    const dir = entry.path.slice(0, entry.path.lastIndexOf('/'));
    const urls = release.acquireByHash ? [joinUrl(req.uri, `dists/${req.suite}/${dir}/by-hash/SHA256/${entry.sha256}`)] : [];
    urls.push(joinUrl(req.uri, `dists/${req.suite}/${entry.path}`));
    let got;
    for (const url of urls) {
      got = await download(ctx.cache, {
        url,
        what,
        expectSha256: entry.sha256,
        expectSize: entry.size,
        mismatchCode: 'INDEX_HASH_MISMATCH',
        onBytes: (received, total) => ctx.onProgress?.({ kind: 'download', what, received, total }),
      }, net);
      if (got !== undefined) break;
    }
    if (got === undefined) {
      throw new StrataError('FETCH_FAILED', `${what}: listed in InRelease but missing on the mirror (${urls.join(', ')})`, {
        hint: 'the mirror is mid-update or broken; retry later or use another mirror',
      });
    }
    blob = got.path;
  }
  ctx.onProgress?.({ kind: 'parse', what });
  const index = await parseAndCacheIndex(ctx.cache, blob, entry, what);
  ctx.onProgress?.({ kind: 'done', what });
  return index;
}

/**
 * What loadIndex does once the index file is downloaded and verified: parse it, and store
 * the parsed form in the cache under the index's sha256. bench/lock.ts times this.
 */
export async function parseAndCacheIndex(cache: CacheDir, blobPath: string, entry: Pick<IndexEntry, 'path' | 'sha256'>, what: string): Promise<PackageIndex> {
  const index = await parseIndexFile(blobPath, entry.path, what, cache.tempPath('index'));
  await cache.writeAtomic(indexCacheKey(entry.sha256), index.serialiseToBuffers());
  return index;
}

function indexCacheKey(sha256: Sha256Hex): string {
  return `index/${sha256}.idx`;
}

/**
 * Parses a downloaded (and already verified) Packages index file into a PackageIndex: the
 * decompressor named by `entryPath`'s extension feeds the streaming parser. `scratchPath` is
 * a private temp path the host's xz may write to; it is removed before this returns.
 * Used by parseAndCacheIndex.
 */
export async function parseIndexFile(blobPath: string, entryPath: string, what: string, scratchPath: string): Promise<PackageIndex> {
  const compression = compressionOfName(entryPath) ?? 'none';
  const builder = new PackageIndexBuilder();
  const parser = new PackagesParser(what, (record) => builder.add(record));
  try {
    for await (const chunk of decompressFile(blobPath, compression, what, scratchPath, { transient: true })) parser.write(decodeIndexChunk(chunk));
  } finally {
    await rm(scratchPath, { force: true });
  }
  parser.end();
  return builder.finish();
}
