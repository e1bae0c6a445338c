// Owns `strata build`: spec + lockfile → OCI image, without an engine, root or scripts.
//
//   fetch .debs (verified) → facts per package (cached by .deb sha256) → accounts and file
//   overrides → layer plan → package layers (cached by the content key of their inputs) →
//   base layout layer + effects layer → whole-image checks → config, manifest (and index)
//
// The image is a function of the lockfile, the spec's image fields, the build options and
// strata's version: no clock, no host users, no file-system order, no worker count.
import { availableParallelism } from 'node:os';
import { StrataError } from '../errors.js';
import { canonicalJson } from '../digest/canonical-json.js';
import { sha256Hex } from '../digest/sha256.js';
import { DeflatePool } from '../archive/deflate-pool.js';
import { GZIP_IDENTITY } from '../archive/gzip-chunked.js';
import { ZSTD_IDENTITY } from '../archive/zstd-frames.js';
import { selectDeflateImpl, selfTestKey } from '../archive/gzip-self-test.js';
import type { DeflateImpl } from '../archive/gzip-chunked.js';
import type { CacheDir } from '../cache/cache-dir.js';
import type { NetworkOptions } from '../debian/download.js';
import { lockfileDigest, type LockedPackage, type Lockfile } from '../debian/lockfile.js';
import { parseCopyrightLicenses, type CopyrightLicenses } from '../debian/copyright.js';
import { comparePathBytes, mergeUsr, parentDirs } from '../debian/merged-usr.js';
import { buildAccounts, type AccountOrigin } from '../effects/accounts.js';
import { alternatives } from '../effects/alternatives.js';
import { auditScripts, type AuditFinding } from '../effects/audit.js';
import { baseLayout, redirectBasePath } from '../effects/base-layout.js';
import { caCertificates } from '../effects/ca-certificates.js';
import { fileOverrides, type FileOverride } from '../effects/file-overrides.js';
import { nsswitch } from '../effects/nsswitch.js';
import { osRelease } from '../effects/os-release.js';
import { timezone } from '../effects/timezone.js';
import type { EffectContext, FileOwner, GeneratedEntry, ImagePath, PackageView } from '../effects/types.js';
import { ANNOTATION, MEDIA, jsonBlob, platformOf, rfc3339, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../image/oci.js';
import type { BlobSource, BuiltImage } from '../image/layout.js';
import { planLayers } from '../layering/plan.js';
import type { LoadedSpec, Spec } from '../spec/spec.js';
import { STRATA_VERSION } from '../version.js';
import { fetchDebs } from './fetch-debs.js';
import { checkOwners, checkPaths } from './image-check.js';
import { keptPaths, layerItems, type LayerPackage } from './layer-content.js';
import { writeLayer, type LayerCompression, type LayerItem, type WrittenLayer } from './layer-writer.js';
import { FACTS_VERSION } from './facts-version.js';
import type { PackageFacts, PathFact, ScannedPackage } from './package-content.js';
import { configureSources, type SourceConfig } from './sources.js';
import { mapConcurrent } from '../util/map-concurrent.js';

export function compressorIdentity(compression: LayerCompression): string {
  return compression === 'zstd' ? ZSTD_IDENTITY : GZIP_IDENTITY;
}

/** Bump when a layer's bytes would change for the same inputs: the layer cache key includes it. */
export const LAYER_FORMAT = 2; // 2: status.d md5sums of merged-/usr files; Replaces inside one layer

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type BuildProgress =
  | { phase: 'fetch'; done: number; total: number; name: string }
  | { phase: 'scan'; done: number; total: number; name: string }
  | { phase: 'layer'; done: number; total: number; name: string; cached: boolean };

export interface BuildOptions {
  cache: CacheDir;
  net?: NetworkOptions;
  /** Compression worker threads; the bytes do not depend on it. Default: the core count. */
  workers?: number;
  onProgress?: (p: BuildProgress) => void;
  /** Only these architectures of the lock (default: all). */
  architectures?: string[];
  /** SOURCE_DATE_EPOCH from the environment, when the spec sets none. */
  sourceDateEpoch?: number;
  /** Overrides the spec's layers.compression. */
  compression?: LayerCompression;
  /** Replaces the layer planner (benchmarks compare strategies); returns package groups in order. */
  planner?: (packages: Array<{ name: string; size: number; depends: string[]; source: string; requested: boolean }>, budget: number) => string[][];
}

export interface LayerReport {
  digest: string;
  diffId: string;
  size: number;
  uncompressedSize: number;
  packages: string[];
  kind: 'base' | 'packages' | 'effects';
  cached: boolean;
}

export interface PlatformReport {
  architecture: string;
  manifestDigest: string;
  configDigest: string;
  layers: LayerReport[];
  accounts: AccountOrigin[];
  audit: AuditFinding[];
  warnings: string[];
  /** Each package's licences from its copyright file (SBOM input; absent: no copyright file). */
  licenses: Record<string, CopyrightLicenses | undefined>;
}

export interface BuildResult {
  image: BuiltImage;
  /** The image's identity: the manifest digest (one platform) or the index digest. */
  digest: string;
  platforms: PlatformReport[];
  epoch: number;
  lockDigest: string;
}

export function buildEpoch(spec: Spec, lock: Lockfile, sourceDateEpoch?: number): number {
  return spec.epoch ?? sourceDateEpoch ?? lock.epoch;
}

function factsKey(pkg: LockedPackage): string {
  return `facts/${pkg.sha256}.v${FACTS_VERSION}.json`;
}

async function loadFacts(cache: CacheDir, pkg: LockedPackage): Promise<PackageFacts | undefined> {
  const raw = await cache.readOptional(factsKey(pkg));
  if (raw === undefined) return undefined;
  try {
    const f = JSON.parse(raw.toString('utf8')) as PackageFacts;
    return f.version === FACTS_VERSION && Array.isArray(f.paths) ? f : undefined;
  } catch {
    return undefined;
  }
}

/** The non-root owners that the kept files name, once each. */
function fileOwners(kept: PathFact[]): FileOwner[] {
  const owners = new Map<string, FileOwner>();
  for (const p of kept) {
    if (p.uname !== undefined) owners.set(`user:${p.uname}:${p.uid}`, { kind: 'user', name: p.uname, id: p.uid });
    if (p.gname !== undefined) owners.set(`group:${p.gname}:${p.gid}`, { kind: 'group', name: p.gname, id: p.gid });
  }
  return [...owners.values()];
}

function viewOf(f: PackageFacts, kept: PathFact[]): PackageView {
  return {
    name: f.name,
    version: f.packageVersion,
    control: f.control,
    md5sums: f.md5sums,
    scripts: f.scripts,
    extracted: new Map(Object.entries(f.extracted).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    fileOwners: fileOwners(kept),
  };
}

interface DirectoryMeta {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * The entries of a generated layer, sorted, with their parents. A parent the layer does not
 * declare takes the metadata the image already gives that directory (`existing`: the base
 * layout's /tmp and /root, a package's own directories), else 0755 root: a later layer's
 * directory entry replaces the earlier one's mode and owner when the image is unpacked.
 */
function generatedItems(entries: GeneratedEntry[], mtime: number, existing: Map<string, DirectoryMeta> = new Map()): LayerItem[] {
  const items = new Map<string, LayerItem>();
  for (const e of entries) {
    const item: LayerItem = { entry: { path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.content?.length ?? 0, mtime } };
    if (e.linkname !== undefined) item.entry.linkname = e.linkname;
    if (e.xattrs !== undefined) item.entry.xattrs = e.xattrs;
    if (e.content !== undefined) {
      const c = e.content;
      item.content = async function* () {
        yield c;
      };
    }
    items.set(e.path, item);
  }
  for (const path of [...items.keys()]) {
    for (const parent of parentDirs(path)) {
      if (items.has(parent)) continue;
      const m = existing.get(parent);
      items.set(parent, { entry: { path: parent, type: 'directory', mode: m?.mode ?? 0o755, uid: m?.uid ?? 0, gid: m?.gid ?? 0, size: 0, mtime } });
    }
  }
  return [...items.values()].sort((a, b) => comparePathBytes(a.entry.path, b.entry.path));
}

/**
 * The spec's paths as image entries, canonical like package paths: merged /usr (/bin/x is
 * usr/bin/x) and the base layout's redirects (/var/run/x is run/x), so that a spec path never
 * turns a base-layout symlink such as /bin into a directory.
 */
function specPathEntries(spec: Spec): GeneratedEntry[] {
  return spec.paths.map((p) => {
    const path = redirectBasePath(mergeUsr(p.path.slice(1)));
    if (p.type === 'directory') return { path, type: 'directory', mode: p.mode, uid: p.uid, gid: p.gid };
    if (p.type === 'symlink') return { path, type: 'symlink', mode: 0o777, uid: p.uid, gid: p.gid, linkname: p.target! };
    return { path, type: 'file', mode: p.mode, uid: p.uid, gid: p.gid, content: Buffer.from(p.content ?? '') };
  });
}

function runAsUser(spec: Spec, uidOf: (n: string) => number | undefined, users: Array<{ name: string; uid: number; gid: number }>): string | undefined {
  const r = spec.accounts.runAs;
  if (r === undefined) return undefined;
  if (/^[0-9]+(:[0-9]+)?$/.test(r)) return r.includes(':') ? r : `${r}:${users.find((u) => u.uid === Number(r))?.gid ?? r}`;
  const uid = uidOf(r);
  const user = users.find((u) => u.name === r);
  if (uid === undefined || user === undefined) throw new StrataError('SPEC_INVALID', `accounts.run-as: ${r} is not a user of the image`);
  return `${uid}:${user.gid}`;
}

/** Layer key: everything the layer's bytes depend on, and nothing else. */
function layerKey(packages: PackageFacts[], lockPkgs: LockedPackage[], profile: string, epoch: number, overrides: Map<string, Map<string, FileOverride>>, compressor: string): string {
  const maxMtime = Math.max(...packages.map((p) => p.maxMtime));
  return sha256Hex(
    canonicalJson({
      format: LAYER_FORMAT,
      compressor,
      profile,
      // The epoch only matters when it is older than the packages' own timestamps.
      clamp: epoch >= maxMtime ? 'none' : epoch,
      packages: lockPkgs.map((p) => p.sha256),
      overrides: lockPkgs.map((p) =>
        [...(overrides.get(p.name) ?? new Map<string, FileOverride>())].map(([path, o]) => ({
          path,
          uid: o.uid,
          gid: o.gid,
          mode: o.mode,
          cap: o.capability?.toString('hex'),
        })),
      ),
    }),
  );
}

/**
 * Each package's licences, from /usr/share/doc/<package>/copyright; a package whose doc
 * directory is a symlink to another's (libgcc-s1 → gcc-12-base) takes that one's.
 */
export function packageLicenses(facts: PackageFacts[]): Record<string, CopyrightLicenses | undefined> {
  const texts = new Map<string, string>();
  for (const f of facts) for (const [path, b64] of Object.entries(f.extracted)) if (path.endsWith('/copyright')) texts.set(path, b64);
  const out: Record<string, CopyrightLicenses | undefined> = {};
  for (const f of facts) {
    let path = `usr/share/doc/${f.name}/copyright`;
    if (!texts.has(path)) {
      const link = f.paths.find((p) => p.path === `usr/share/doc/${f.name}` && p.type === 'symlink')?.linkname;
      if (link !== undefined) path = `usr/share/doc/${link.replace(/^.*\//, '')}/copyright`;
    }
    const b64 = texts.get(path);
    out[f.name] = b64 === undefined ? undefined : parseCopyrightLicenses(Buffer.from(b64, 'base64').toString('utf8'));
  }
  return out;
}

/** A package layer in the cache by its key, if its blob is still there. */
async function cachedLayer(cache: CacheDir, key: string): Promise<WrittenLayer | undefined> {
  const hit = await cache.readOptional(`layers/${key}.json`);
  if (hit === undefined) return undefined;
  const w = JSON.parse(hit.toString('utf8')) as WrittenLayer;
  return (await cache.hasBlob(w.digest.slice(7))) ? w : undefined;
}

/**
 * Writes a small generated layer (base layout, effects), or finds it in the layer cache. Its
 * key is taken from the items themselves (every entry's metadata and a digest of its content),
 * so it covers whatever produced them; the layer's bytes are a function of the items, the tar
 * writer (LAYER_FORMAT) and the compressor.
 */
async function writeGeneratedLayer(items: LayerItem[], cache: CacheDir, pool: () => Promise<DeflatePool>, compression: LayerCompression): Promise<{ w: WrittenLayer; cached: boolean }> {
  const described: unknown[] = [];
  for (const { entry, content } of items) {
    const parts: Buffer[] = [];
    if (content !== undefined) for await (const c of content()) parts.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    const xattrs = entry.xattrs === undefined ? undefined : Object.fromEntries(Object.entries(entry.xattrs).map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
    described.push({ ...entry, xattrs, content: content === undefined ? undefined : sha256Hex(Buffer.concat(parts)) });
  }
  const key = sha256Hex(canonicalJson({ format: LAYER_FORMAT, compressor: compressorIdentity(compression), generated: described }));
  const cacheFile = `layers/${key}.json`;
  const hit = await cache.readOptional(cacheFile);
  if (hit !== undefined) {
    const w = JSON.parse(hit.toString('utf8')) as WrittenLayer;
    if (await cache.hasBlob(w.digest.slice(7))) return { w, cached: true };
  }
  const w = await writeLayer(items, cache, await pool(), compression);
  await cache.writeAtomic(cacheFile, JSON.stringify(w));
  return { w, cached: false };
}

/** Fetches the .debs of one closure and returns every package's facts (cached or scanned). */
export async function collectFacts(loaded: LoadedSpec, lock: Lockfile, arch: string, opts: BuildOptions): Promise<PackageFacts[]> {
  const closure = lock.architectures[arch];
  if (closure === undefined) throw new StrataError('USAGE', `the lock has no ${arch} closure`);
  let sourcesRead: Promise<SourceConfig> | undefined;
  const debs = await fetchDebs(closure.packages, () => (sourcesRead ??= configureSources(loaded)), {
    cache: opts.cache,
    ...(opts.net ? { net: opts.net } : {}),
    onProgress: (p) => opts.onProgress?.({ phase: 'fetch', done: p.done, total: p.total, name: p.name }),
  });
  return mapConcurrent(closure.packages, 4, async (pkg) => {
    const cached = await loadFacts(opts.cache, pkg);
    if (cached !== undefined) return cached;
    const { scanDeb } = await import('./package-content.js');
    const s = await scanDeb(debs.get(pkg.sha256)!, pkg, opts.cache.tempPath(`data-${pkg.name}`));
    await s.store.close();
    await opts.cache.writeAtomic(factsKey(pkg), JSON.stringify(s.facts));
    return s.facts;
  });
}

export async function buildImage(loaded: LoadedSpec, lock: Lockfile, opts: BuildOptions): Promise<BuildResult> {
  const { spec } = loaded;
  const epoch = buildEpoch(spec, lock, opts.sourceDateEpoch);
  const compression: LayerCompression = opts.compression ?? spec.layers.compression ?? 'gzip';
  const lockDigest = `sha256:${lockfileDigest(lock)}`;
  const architectures = (opts.architectures ?? lock.inputs.architectures).filter((a) => lock.architectures[a] !== undefined);
  if (architectures.length === 0) throw new StrataError('USAGE', `the lock has none of the architectures ${opts.architectures?.join(', ')}`);
  // The host's sources and keyrings are read only if a .deb is missing from the cache.
  let sourcesRead: Promise<SourceConfig> | undefined;
  const sources = () => (sourcesRead ??= configureSources(loaded));
  const workers = opts.workers ?? availableParallelism();
  // The gzip self-test's verdict is remembered per Node and zlib version in the cache; it is
  // asked for only when something is compressed.
  let implChosen: Promise<DeflateImpl> | undefined;
  const getImpl = () =>
    (implChosen ??= (async () => {
      const verdictFile = `selftest/${selfTestKey()}.json`;
      const remembered = await opts.cache.readOptional(verdictFile);
      const known = remembered === undefined ? undefined : (JSON.parse(remembered.toString('utf8')) as { impl: DeflateImpl }).impl;
      const impl = selectDeflateImpl(known === 'node' || known === 'pako' ? known : undefined);
      if (known !== impl) await opts.cache.writeAtomic(verdictFile, JSON.stringify({ impl }));
      return impl;
    })());
  let pool: Promise<DeflatePool> | undefined;
  const getPool = () => (pool ??= getImpl().then((impl) => new DeflatePool(workers, impl)));
  // Small layers (base layout, effects) compress in this thread: no worker start-up cost.
  let inlinePool: Promise<DeflatePool> | undefined;
  const inline = () => (inlinePool ??= getImpl().then((impl) => new DeflatePool(0, impl)));
  const blobs = new Map<string, BlobSource>();
  const platforms: PlatformReport[] = [];
  const manifests: Descriptor[] = [];
  const platformImages: BuiltImage['platforms'] = [];
  try {
    for (const arch of architectures) {
      const closure = lock.architectures[arch]!;
      const byName = new Map(closure.packages.map((p) => [p.name, p]));
      const debs = await fetchDebs(closure.packages, sources, {
        cache: opts.cache,
        ...(opts.net ? { net: opts.net } : {}),
        onProgress: (p) => opts.onProgress?.({ phase: 'fetch', done: p.done, total: p.total, name: p.name }),
      });

      // Facts for every package; scanning keeps the contents for the layer writer.
      const facts = new Map<string, PackageFacts>();
      const scanned = new Map<string, ScannedPackage>();
      const record = async (pkg: LockedPackage, s: ScannedPackage): Promise<ScannedPackage> => {
        scanned.set(pkg.name, s);
        facts.set(pkg.name, s.facts);
        await opts.cache.writeAtomic(factsKey(pkg), JSON.stringify(s.facts));
        return s;
      };
      // The scanner is loaded only when a package's facts are not cached.
      const scan = async (pkg: LockedPackage): Promise<ScannedPackage> => {
        const { scanDeb } = await import('./package-content.js');
        return record(pkg, await scanDeb(debs.get(pkg.sha256)!, pkg, opts.cache.tempPath(`data-${pkg.name}`)));
      };
      // Layer plan (the layering issue's seam): a function of the lock alone.
      const planInput = closure.packages.map((p) => ({ name: p.name, size: p.size, depends: p.depends, source: p.source, requested: p.requested === true }));
      const groups = opts.planner !== undefined ? opts.planner(planInput, spec.layers.budget) : planLayers(planInput, spec.layers.budget).layers.map((l) => l.packages);

      try {
        let scannedCount = 0;
        const cachedFacts = await mapConcurrent(closure.packages, 8, (pkg) => loadFacts(opts.cache, pkg));
        const missing: LockedPackage[] = [];
        closure.packages.forEach((pkg, i) => {
          const f = cachedFacts[i];
          if (f === undefined) missing.push(pkg);
          else facts.set(pkg.name, f);
        });
        if (missing.length > 0) {
          const { readControls, readDebHead, scanData } = await import('./package-content.js');
          // Biggest first, so that the last xz to finish is a small one.
          const order = [...missing].sort((a, b) => b.installedSize - a.installedSize);
          const heads = await mapConcurrent(order, 8, (pkg) => readDebHead(debs.get(pkg.sha256)!, pkg));
          // The control members are read while the data members start decoding.
          const controls = readControls(heads);
          controls.catch(() => undefined); // awaited by every scan below
          const { XzRangeDecoder } = await import('../archive/decompress.js');
          const runner = { decoder: new XzRangeDecoder(opts.cache.root), cwd: opts.cache.root };
          // More decoders than cores: a small package's decoder (sh, dd, xz) starts while the
          // others decode, so the cores stay busy through the many small packages at the end.
          const concurrency = Math.max(2, Math.min(8, workers + 3));
          const scanning = mapConcurrent(order, concurrency, async (pkg, i) => {
            await record(pkg, await scanData(heads[i]!, async () => (await controls)[i]!, opts.cache.tempPath(`data-${pkg.name}`), runner));
            opts.onProgress?.({ phase: 'scan', done: ++scannedCount, total: missing.length, name: pkg.name });
          });
          // Scanned packages will almost always need their layers written: while xz runs, run the
          // gzip self-test (if no verdict is remembered) and start the compression workers, rather
          // than when the first layer starts.
          const poolReady = getPool();
          try {
            await Promise.all([scanning, poolReady]);
          } finally {
            await runner.decoder.close();
          }
        }

        const ordered = closure.packages.map((p) => facts.get(p.name)!);
        const paths = new Map<string, ImagePath>();
        const kept = new Map<string, ReturnType<typeof keptPaths>>();
        for (const f of ordered) {
          const k = keptPaths(f, spec.profile);
          kept.set(f.name, k);
          for (const p of k) if (!paths.has(p.path)) paths.set(p.path, { type: p.type === 'file' ? 'file' : p.type === 'directory' ? 'directory' : p.type === 'symlink' ? 'symlink' : 'hardlink', ...(p.linkname ? { linkname: p.linkname } : {}), package: f.name });
        }
        const ctx: EffectContext = { architecture: arch, spec, packages: ordered.map((f) => viewOf(f, kept.get(f.name)!)), paths };
        const accounts = buildAccounts(ctx);
        const warnings: string[] = [];
        const overrides = new Map<string, Map<string, FileOverride>>();
        for (const f of ordered) {
          const { overrides: o, problems } = fileOverrides(f.scripts, accounts);
          overrides.set(f.name, o);
          for (const p of problems) warnings.push(`${f.name}: ${p.path}: ${p.why}`);
          for (const path of o.keys()) if (!kept.get(f.name)!.some((x) => x.path === path)) warnings.push(`${f.name}: a stat override or capability names ${path}, which the image does not hold`);
        }
        const { after } = checkPaths(ordered.map((f) => ({ name: f.name, control: f.control, kept: kept.get(f.name)! })));

        // Order constraints from Replaces on the layer plan.
        for (const [replaced, replacer] of after) {
          const gi = groups.findIndex((g) => g.includes(replaced));
          const gj = groups.findIndex((g) => g.includes(replacer));
          if (gi === gj) {
            const g = groups[gi]!;
            g.splice(g.indexOf(replacer), 1);
            g.splice(g.indexOf(replaced) + 1, 0, replacer);
          } else if (gj < gi) {
            const [moved] = groups.splice(gj, 1);
            groups.splice(gi, 0, moved!);
          }
        }

        // Base layout and effects: checked before any package layer is written (a spec error
        // costs no compression), written beside the package layers below.
        const main = lock.suites[0];
        const release = main === undefined ? undefined : { origin: main.origin, codename: main.codename, version: main.version };
        const effectResults = [nsswitch(ctx), caCertificates(ctx), timezone(ctx), alternatives(ctx), osRelease(ctx, release)];
        for (const r of effectResults) warnings.push(...r.warnings);
        const specEntries = specPathEntries(spec);
        const effectEntries = [...accounts.entries, ...effectResults.flatMap((r) => r.entries), ...specEntries];
        // The effects layer is dated by what it is made from — the release (the main suite's
        // date: os-release, strata's defaults, the spec) and the packages it reads — never past
        // the epoch, rather than by the epoch itself: an update of any other package, which moves
        // the lock's epoch, then leaves this layer's bytes alone (docs/reproducibility.md).
        const effectsFrom = [...new Set([...accounts.from, ...effectResults.flatMap((r) => r.from)])];
        const effectsMtime = Math.min(epoch, Math.max(main?.dateEpoch ?? epoch, ...effectsFrom.map((n) => facts.get(n)!.maxMtime)));
        const generated = new Map(effectEntries.map((e) => [e.path, e]));
        for (const e of specEntries) {
          const existing = paths.get(e.path);
          if (existing !== undefined && existing.type !== e.type && !(existing.type === 'directory' && e.type === 'directory')) {
            throw new StrataError('SPEC_INVALID', `paths: /${e.path} is a ${e.type} in the spec but ${existing.package} ships it as a ${existing.type}`);
          }
          // Below a symlink or a file, the layer would replace it with a directory.
          for (const parent of parentDirs(e.path)) {
            const shipped = paths.get(parent);
            const made = generated.get(parent);
            const what = shipped !== undefined && shipped.type !== 'directory' ? `${shipped.package} ships it as a ${shipped.type}` : made !== undefined && made.type !== 'directory' ? `the image makes it a ${made.type}` : undefined;
            if (what !== undefined) {
              throw new StrataError('SPEC_INVALID', `paths: /${e.path} is below /${parent}, and ${what}`, {
                detail: { path: `/${e.path}`, parent: `/${parent}` },
                hint: 'declare the path where the link points, or somewhere else',
              });
            }
          }
        }
        // Directories as the layers below leave them: the base layout, then each package's own
        // (the first package in closure order, as for `paths`), with its stat overrides.
        const directories = new Map<string, DirectoryMeta>();
        for (const e of baseLayout(arch)) if (e.type === 'directory') directories.set(e.path, e);
        const packageDirs = new Set<string>();
        for (const f of ordered) {
          for (const p of kept.get(f.name)!) {
            if (p.type !== 'directory' || packageDirs.has(p.path)) continue;
            packageDirs.add(p.path);
            const o = overrides.get(f.name)!.get(p.path);
            directories.set(p.path, { mode: o?.mode ?? p.mode, uid: o?.uid ?? p.uid, gid: o?.gid ?? p.gid });
          }
        }

        // Every file must belong to a declared account.
        const uids = new Set(accounts.users.map((u) => u.uid));
        const gids = new Set(accounts.groups.map((g) => g.gid));
        const owned: Array<{ path: string; uid: number; gid: number; package: string }> = [];
        for (const f of ordered) {
          const o = overrides.get(f.name)!;
          for (const p of kept.get(f.name)!) owned.push({ path: p.path, uid: o.get(p.path)?.uid ?? p.uid, gid: o.get(p.path)?.gid ?? p.gid, package: f.name });
        }
        for (const e of effectEntries) owned.push({ path: e.path, uid: e.uid, gid: e.gid, package: 'the spec' });
        checkOwners(owned, uids, gids);

        // Package layers.
        const layerReports: LayerReport[] = [];
        let layerDone = 0;
        // Cache lookups first, all at once (small reads); then the layers to write, a few at a time.
        const keys = groups.map((group) => layerKey(group.map((n) => facts.get(n)!), group.map((n) => byName.get(n)!), spec.profile, epoch, overrides, compressorIdentity(compression)));
        const hits = await mapConcurrent(groups, 16, async (group, i) => {
          const w = await cachedLayer(opts.cache, keys[i]!);
          if (w === undefined) return undefined;
          opts.onProgress?.({ phase: 'layer', done: ++layerDone, total: groups.length, name: group.join(' '), cached: true });
          return { w, cached: true };
        });
        const toWrite = groups.map((_, i) => i).filter((i) => hits[i] === undefined);
        // The two small layers go to the compression workers when package layers need them
        // anyway, else they are compressed in this thread (no worker start-up for a rebuild).
        const small = toWrite.length > 0 ? getPool : inline;
        const generatedLayers = Promise.all([
          writeGeneratedLayer(generatedItems(baseLayout(arch), epoch), opts.cache, small, compression),
          writeGeneratedLayer(generatedItems(effectEntries, effectsMtime, directories), opts.cache, small, compression),
        ]);
        generatedLayers.catch(() => undefined); // awaited after the package layers
        // Two layers per worker in flight: a small layer is a single chunk, and its file and cache
        // work would otherwise leave the workers idle between layers.
        const fresh = await mapConcurrent(toWrite, Math.max(1, Math.min(8, workers * 2)), async (i) => {
          const group = groups[i]!;
          const lockPkgs = group.map((n) => byName.get(n)!);
          const inputs: LayerPackage[] = [];
          for (const pkg of lockPkgs) {
            const s = scanned.get(pkg.name) ?? (await scan(pkg));
            inputs.push({ facts: s.facts, overrides: overrides.get(pkg.name)!, contents: s.contents, store: s.store });
          }
          const w = await writeLayer(layerItems(inputs, spec.profile, epoch), opts.cache, await getPool(), compression);
          await opts.cache.writeAtomic(`layers/${keys[i]}.json`, JSON.stringify(w));
          for (const pkg of lockPkgs) {
            await scanned.get(pkg.name)?.store.close();
            scanned.delete(pkg.name);
          }
          opts.onProgress?.({ phase: 'layer', done: ++layerDone, total: groups.length, name: group.join(' '), cached: false });
          return w;
        });
        const written = groups.map((_, i) => hits[i] ?? { w: fresh[toWrite.indexOf(i)]!, cached: false });

        const [base, effects] = await generatedLayers;

        // Assemble the layers in order.
        layerReports.push({ ...base.w, packages: [], kind: 'base', cached: base.cached });
        groups.forEach((g, i) => layerReports.push({ ...written[i]!.w, packages: g, kind: 'packages', cached: written[i]!.cached }));
        layerReports.push({ ...effects.w, packages: [], kind: 'effects', cached: effects.cached });
        for (const l of layerReports) blobs.set(l.digest, { kind: 'file', path: opts.cache.blobPath(l.digest.slice(7)), size: l.size });

        const platform = platformOf(arch);
        const env = [...('PATH' in spec.env ? [] : [DEFAULT_PATH]), ...Object.entries(spec.env).map(([k, v]) => `${k}=${v}`)];
        const config: ImageConfig = {
          architecture: platform.architecture,
          os: platform.os,
          created: rfc3339(epoch),
          config: { Env: env },
          rootfs: { type: 'layers', diff_ids: layerReports.map((l) => l.diffId) },
          history: layerReports.map((l) => ({
            created: rfc3339(epoch),
            created_by: l.kind === 'base' ? 'strata: base layout (merged /usr, /tmp, /run)' : l.kind === 'effects' ? 'strata: effects (accounts, nsswitch, CA bundle, time zone, alternatives, paths)' : `strata: ${l.packages.map((n) => `${n} ${byName.get(n)!.version}`).join(', ')}`,
          })),
        };
        if (platform.variant !== undefined) config.variant = platform.variant;
        const user = runAsUser(spec, accounts.uidOf, accounts.users);
        if (user !== undefined) config.config.User = user;
        if (spec.entrypoint !== undefined) config.config.Entrypoint = spec.entrypoint;
        if (spec.cmd !== undefined) config.config.Cmd = spec.cmd;
        if (spec.workdir !== undefined) config.config.WorkingDir = spec.workdir;
        const volumes = spec.paths.filter((p) => p.volume === true).map((p) => p.path);
        if (volumes.length > 0) config.config.Volumes = Object.fromEntries(volumes.map((v) => [v, {}]));
        if (Object.keys(spec.annotations).length > 0) config.config.Labels = spec.annotations;
        const configBlob = jsonBlob(config, MEDIA.config);
        blobs.set(configBlob.descriptor.digest, { kind: 'bytes', bytes: configBlob.bytes });
        const manifest: ImageManifest = {
          schemaVersion: 2,
          mediaType: MEDIA.manifest,
          config: configBlob.descriptor,
          layers: layerReports.map((l) => {
            const d: Descriptor = { mediaType: compression === 'zstd' ? MEDIA.layerZstd : MEDIA.layerGzip, digest: l.digest, size: l.size };
            if (l.kind === 'packages') d.annotations = { [ANNOTATION.packages]: l.packages.map((n) => `${n}=${byName.get(n)!.version}`).join(',') };
            return d;
          }),
          annotations: {
            ...spec.annotations,
            [ANNOTATION.created]: rfc3339(epoch),
            [ANNOTATION.lockDigest]: lockDigest,
            [ANNOTATION.compressor]: compressorIdentity(compression),
            [ANNOTATION.version]: STRATA_VERSION,
          },
        };
        const manifestBlob = jsonBlob(manifest, MEDIA.manifest);
        blobs.set(manifestBlob.descriptor.digest, { kind: 'bytes', bytes: manifestBlob.bytes });
        manifests.push({ ...manifestBlob.descriptor, platform });
        platformImages.push({ manifest, config, configDigest: configBlob.descriptor.digest });
        const audit = ordered.flatMap((f) => auditScripts(f.name, f.scripts));
        const unhandled = audit.filter((a) => a.status === 'unhandled').length;
        if (unhandled > 0) warnings.push(`${unhandled} maintainer-script action${unhandled === 1 ? ' has' : 's have'} no effect handler; run \`strata audit\` to list them`);
        platforms.push({ architecture: arch, manifestDigest: manifestBlob.descriptor.digest, configDigest: configBlob.descriptor.digest, layers: layerReports, accounts: accounts.origins, audit, warnings, licenses: packageLicenses(ordered) });
      } finally {
        for (const s of scanned.values()) await s.store.close();
      }
    }
  } finally {
    await (await pool?.catch(() => undefined))?.close();
  }
  let root: Descriptor;
  if (manifests.length === 1) {
    root = { mediaType: manifests[0]!.mediaType, digest: manifests[0]!.digest, size: manifests[0]!.size };
  } else {
    const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA.index, manifests };
    const indexBlob = jsonBlob(index, MEDIA.index);
    blobs.set(indexBlob.descriptor.digest, { kind: 'bytes', bytes: indexBlob.bytes });
    root = indexBlob.descriptor;
  }
  return { image: { root, blobs, platforms: platformImages }, digest: root.digest, platforms, epoch, lockDigest };
}
