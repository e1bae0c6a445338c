// Owns turning what the user named — a spec, a package list, an image — into an
// environment on disk: a target key computed from the inputs' bytes alone (the spec's text,
// the lock's bytes, this machine's architecture, strata's version; or the image's manifest
// digest), so that a second start reads two small files and a record and goes; on a miss,
// the lock (ad-hoc lists are locked into the cache), the image build (build/), the layers
// unpacked into the rootfs cache and the environment assembled from them.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StrataError } from '../errors.js';
import { sha256Hex } from '../digest/sha256.js';
import type { CacheDir } from '../cache/cache-dir.js';
import { readHostAptSources } from '../debian/apt-sources.js';
import type { NetworkOptions } from '../debian/download.js';
import type { ProgressEvent } from '../debian/archive.js';
import type { Lockfile } from '../debian/lockfile.js';
import type { LoadedSpec } from '../spec/spec.js';
import type { OpenedImage, PlatformImage } from '../image/image-reader.js';
import { platformOf } from '../image/oci.js';
import type { RemoteOptions } from '../image/remote/index.js';
import { specTextSha256 } from '../spec/spec-digest.js';
import { DEFAULT_SHELL_PACKAGE, adhocKey, adhocPackages, adhocSpecText, hasShell } from './adhoc.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { RootfsCache, targetKey, type EnvConfig, type LayerSource, type TargetRecord } from './rootfs-cache.js';

export type EnvTarget =
  | { kind: 'spec'; specPath: string; lockPath: string; forShell: boolean }
  | { kind: 'adhoc'; packages: string[]; update: boolean }
  /** An OCI layout (DIR, DIR:TAG), an oci-archive, a docker-archive or a registry reference. */
  | { kind: 'image'; ref: string; registry?: RemoteOptions };

export type EnvProgress =
  | { phase: 'lock'; event: ProgressEvent }
  | { phase: 'build'; text: string }
  | { phase: 'unpack'; done: number; total: number }
  | { phase: 'assemble' };

export interface OpenOptions {
  cache: CacheDir;
  architecture: string;
  net?: NetworkOptions;
  onProgress?: (p: EnvProgress) => void;
  /** A note for the user (a shell added to a closure without one). */
  onNote?: (text: string) => void;
}

export interface OpenedEnv {
  key: string;
  record: TargetRecord;
  /** Host path of the environment's tree. */
  root: string;
  /** Whether this start had to build, unpack or assemble anything. */
  cold: boolean;
}

async function readInput(path: string, missing: () => StrataError): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing();
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new StrataError('SPEC_NOT_FOUND', `${path} is a directory, not a spec file`);
    throw new StrataError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

function configOf(c: { User?: string; Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; Volumes?: Record<string, unknown> }): EnvConfig {
  const out: EnvConfig = { env: c.Env ?? [] };
  if (c.User !== undefined && c.User !== '') out.user = c.User;
  if (c.Entrypoint !== undefined) out.entrypoint = c.Entrypoint;
  if (c.Cmd !== undefined) out.cmd = c.Cmd;
  if (c.WorkingDir !== undefined && c.WorkingDir !== '') out.workdir = c.WorkingDir;
  const volumes = Object.keys(c.Volumes ?? {}).sort();
  if (volumes.length > 0) out.volumes = volumes;
  return out;
}

/** Locks `bash` with the spec's sources and profile, for a spec whose closure has no shell. */
async function shellLock(loaded: LoadedSpec, lock: Lockfile, arch: string, opts: OpenOptions): Promise<Lockfile> {
  const { lock: lockSpec } = await import('../build/lock.js');
  const { formatLockfile, parseLockfile } = await import('../debian/lockfile.js');
  const { parsePackageRequest } = await import('../spec/package-request.js');
  const key = sha256Hex(`${lock.spec.inputsSha256}\n${arch}\n${DEFAULT_SHELL_PACKAGE}`);
  const rel = `locks/shell/${key}.lock.json`;
  const cached = await opts.cache.readOptional(rel);
  if (cached !== undefined) return parseLockfile(cached.toString('utf8'), opts.cache.path(rel));
  const request = parsePackageRequest(DEFAULT_SHELL_PACKAGE);
  if (typeof request === 'string') throw new StrataError('INTERNAL', request);
  const derived: LoadedSpec = {
    spec: { ...loaded.spec, architectures: [arch], packages: [request], exclude: [] },
    path: loaded.path,
    textSha256: sha256Hex(`${loaded.textSha256}\n${DEFAULT_SHELL_PACKAGE}`),
  };
  const lockOpts: Parameters<typeof lockSpec>[1] = { cache: opts.cache, onProgress: (event) => opts.onProgress?.({ phase: 'lock', event }) };
  if (opts.net !== undefined) lockOpts.net = opts.net;
  const result = await lockSpec(derived, lockOpts);
  await opts.cache.writeAtomic(rel, formatLockfile(result.lock));
  return result.lock;
}

/** The spec's closure with the shell closure's packages that it lacks (the spec's versions win). */
function withShell(lock: Lockfile, shell: Lockfile, arch: string): { lock: Lockfile; added: string[] } {
  const own = lock.architectures[arch]!;
  const names = new Set(own.packages.map((p) => p.name));
  const extra = (shell.architectures[arch]?.packages ?? [])
    .filter((p) => !names.has(p.name))
    .map((p) => {
      const { requested: _requested, ...rest } = p;
      return rest;
    });
  const packages = [...own.packages, ...extra].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const suites = [...lock.suites];
  for (const s of shell.suites) if (!suites.some((x) => x.suite === s.suite && x.inRelease.sha256 === s.inRelease.sha256)) suites.push(s);
  return { lock: { ...lock, suites, architectures: { [arch]: { packages, excluded: own.excluded } } }, added: extra.map((p) => `${p.name}=${p.version}`) };
}

/** Layers are unpacked a few at a time: small files make it a matter of system calls, which
 * libuv's thread pool runs in parallel. */
const UNPACK_CONCURRENCY = 4;

async function unpackAll(rootfs: RootfsCache, layers: LayerSource[], opts: OpenOptions): Promise<void> {
  let done = 0;
  await mapConcurrent(layers, UNPACK_CONCURRENCY, async (layer) => {
    await rootfs.ensureLayer(layer);
    opts.onProgress?.({ phase: 'unpack', done: ++done, total: layers.length });
  });
}

async function buildFromLock(rootfs: RootfsCache, key: string, kind: 'spec' | 'adhoc', name: string, loaded: LoadedSpec, lock: Lockfile, addedShell: string[], opts: OpenOptions): Promise<{ record: TargetRecord; root: string }> {
  const { buildImage } = await import('../build/build.js');
  const { lockfileDigest } = await import('../debian/lockfile.js');
  const arch = opts.architecture;
  const built = await buildImage(loaded, lock, {
    cache: opts.cache,
    architectures: [arch],
    ...(opts.net ? { net: opts.net } : {}),
    onProgress: (p) => opts.onProgress?.({ phase: 'build', text: p.phase === 'layer' ? `layers ${p.done}/${p.total}` : `${p.phase} ${p.done}/${p.total} ${p.name}` }),
  });
  const platform = built.platforms[0]!;
  await unpackAll(
    rootfs,
    platform.layers.map((l) => ({ diffId: l.diffId, blob: opts.cache.blobPath(l.digest.slice('sha256:'.length)), compression: 'gzip' as const })),
    opts,
  );
  opts.onProgress?.({ phase: 'assemble' });
  const layers = platform.layers.map((l) => l.diffId);
  const env = await rootfs.ensureEnv(layers);
  const record: Omit<TargetRecord, 'format'> = {
    kind,
    name,
    architecture: arch,
    envKey: env.envKey,
    layers,
    config: configOf(built.image.platforms[0]!.config.config),
    packages: lock.architectures[arch]!.packages.map((p) => `${p.name}=${p.version}`),
    lockDigest: `sha256:${lockfileDigest(lock)}`,
  };
  if (addedShell.length > 0) record.addedShell = addedShell;
  return { record: await rootfs.writeTarget(key, record), root: env.root };
}

async function openSpec(rootfs: RootfsCache, t: SpecFiles, opts: OpenOptions): Promise<OpenedEnv> {
  const arch = opts.architecture;
  const specBytes = await readInput(t.specPath, () => new StrataError('SPEC_NOT_FOUND', `${t.specPath}: no such file`, { hint: 'give a spec file (docs/spec.md) or package names' }));
  const lockBytes = await readInput(t.lockPath, () => new StrataError('LOCK_NOT_FOUND', `${t.lockPath} does not exist`, { hint: `run \`strata lock ${t.specPath}\` first` }));
  const key = targetKey({ kind: t.kind, variant: t.forShell ? 'shell' : 'run', spec: specTextSha256(specBytes.toString('utf8')), lock: sha256Hex(lockBytes), architecture: arch });
  const hit = await rootfs.readTarget(key);
  if (hit !== undefined) return { key, record: hit, root: opts.cache.envTreePath(hit.envKey), cold: false };

  const { loaded, lock, added } = await effectiveLock(t, lockBytes.toString('utf8'), opts);
  const built = await buildFromLock(rootfs, key, t.kind, t.name, loaded, lock, added, opts);
  return { key, record: built.record, root: built.root, cold: true };
}

/** The spec and the lock an environment is built from: the spec's own, plus a shell when it is for one and has none. */
async function effectiveLock(t: SpecFiles, lockText: string, opts: OpenOptions): Promise<{ loaded: LoadedSpec; lock: Lockfile; added: string[] }> {
  const arch = opts.architecture;
  const { loadSpec } = await import('../spec/load-spec.js');
  const { parseLockfile } = await import('../debian/lockfile.js');
  const { staleReasons } = await import('../build/lock.js');
  const loaded = await loadSpec(t.specPath);
  let lock = parseLockfile(lockText, t.lockPath);
  const stale = staleReasons(loaded, lock);
  if (stale.length > 0) {
    throw new StrataError('LOCK_STALE', `${t.lockPath} does not match ${t.specPath}: ${stale.join('; ')}`, { detail: { reasons: stale }, hint: `run \`strata lock ${t.specPath}\` to update the lock` });
  }
  if (lock.architectures[arch] === undefined) {
    throw new StrataError('USAGE', `${t.specPath} has no ${arch} closure, and environments run on this machine (${arch})`, { hint: `add ${arch} to architectures: and run \`strata lock ${t.specPath}\`` });
  }
  let added: string[] = [];
  if (t.forShell && !hasShell(lock, arch)) {
    const shell = await shellLock(loaded, lock, arch, opts);
    ({ lock, added } = withShell(lock, shell, arch));
    opts.onNote?.(`${t.name} has no shell; the environment adds ${added.join(', ')} (locked in the cache)`);
  }
  return { loaded, lock, added };
}

interface SpecFiles {
  specPath: string;
  lockPath: string;
  forShell: boolean;
  kind: 'spec' | 'adhoc';
  name: string;
}

/** The generated spec and lock of a package list in the cache, locked now when missing (or with `update`). */
async function adhocFiles(t: { packages: string[]; update: boolean }, opts: OpenOptions): Promise<SpecFiles> {
  const arch = opts.architecture;
  const packages = adhocPackages(t.packages);
  const sources = await readHostAptSources();
  const key = adhocKey(packages, arch, sources);
  const specRel = `locks/adhoc/${key}.yaml`;
  const lockRel = `locks/adhoc/${key}.lock.json`;
  const files: SpecFiles = { specPath: opts.cache.path(specRel), lockPath: opts.cache.path(lockRel), forShell: false, kind: 'adhoc', name: packages.join(' ') };
  const previousText = await opts.cache.readOptional(lockRel);
  if (!t.update && previousText !== undefined && (await opts.cache.readOptional(specRel)) !== undefined) return files;

  const { lock } = await import('../build/lock.js');
  const { parseSpec } = await import('../spec/parse-spec.js');
  const { formatLockfile, parseLockfile } = await import('../debian/lockfile.js');
  const previous = t.update && previousText !== undefined ? parseLockfile(previousText.toString('utf8'), files.lockPath) : undefined;
  const lockWith = async (list: string[]) => {
    const text = adhocSpecText(list, arch);
    const loaded: LoadedSpec = { spec: parseSpec(text, files.specPath), path: resolve(files.specPath), textSha256: specTextSha256(text) };
    const o: Parameters<typeof lock>[1] = { cache: opts.cache, onProgress: (event) => opts.onProgress?.({ phase: 'lock', event }) };
    if (opts.net !== undefined) o.net = opts.net;
    if (previous !== undefined) {
      o.previous = previous;
      o.update = [];
    }
    return { text, result: await lock(loaded, o) };
  };
  let locked = await lockWith(packages);
  if (!hasShell(locked.result.lock, arch)) {
    locked = await lockWith([...packages, DEFAULT_SHELL_PACKAGE].sort());
    opts.onNote?.(`${packages.join(' ')} has no shell; the environment adds ${DEFAULT_SHELL_PACKAGE}`);
  }
  await opts.cache.writeAtomic(specRel, locked.text);
  await opts.cache.writeAtomic(lockRel, formatLockfile(locked.result.lock));
  return files;
}

const unusable = (label: string, why: string) => new StrataError('IMAGE_INVALID', `${label}: ${why}`, { hint: 'rebuild or re-copy the image' });
const otherPlatform = (label: string, why: string, arch: string) =>
  new StrataError('IMAGE_INVALID', `${label}: ${why}`, { hint: `environments run on this machine's platform: build the image for ${arch} too (architectures: in the spec, or strata build --arch ${arch})` });

/** The platform of an opened image that runs on this machine. */
function platformFor(image: OpenedImage, architecture: string): PlatformImage {
  const want = platformOf(architecture);
  const p =
    image.platforms.length === 1 && image.index === undefined
      ? image.platforms[0]!
      : image.platforms.find((x) => {
          const [os, arch, variant] = x.platform.split('/');
          return os === want.os && arch === want.architecture && (want.variant === undefined || variant === undefined || variant === want.variant);
        });
  if (p === undefined) throw otherPlatform(image.label, `has no image for this machine (${want.os}/${want.architecture}); it has ${image.platforms.map((x) => x.platform).join(', ')}`, architecture);
  for (const doc of [p.manifest, p.config]) if (doc !== undefined && doc.actualDigest !== doc.digest) throw unusable(image.label, `blob ${doc.digest} does not match its digest`);
  const config = p.config.value;
  if (config.architecture !== want.architecture) throw otherPlatform(image.label, `the image is for ${config.os}/${config.architecture}, and this machine is ${want.os}/${want.architecture}`, architecture);
  return p;
}

/**
 * An image as an environment: an OCI layout, an oci-archive, a docker-archive or a registry
 * reference, through the image reader every command shares. Layers are streamed from where
 * they are stored into the rootfs cache, where each is checked against its DiffID.
 */
async function openImage(rootfs: RootfsCache, t: { ref: string; registry?: RemoteOptions }, opts: OpenOptions): Promise<OpenedEnv> {
  const { openImage: openAnyImage } = await import('../image/open-image.js');
  const image = await openAnyImage(t.ref, t.registry === undefined ? {} : { registry: t.registry });
  try {
    const p = platformFor(image, opts.architecture);
    // A docker-archive stores no manifest: its config names the image (and, by DiffID, the layers).
    const identity = (p.manifest ?? p.config).digest;
    const key = targetKey({ kind: 'image', manifest: identity, architecture: opts.architecture });
    const hit = await rootfs.readTarget(key);
    if (hit !== undefined) return { key, record: hit, root: opts.cache.envTreePath(hit.envKey), cold: false };
    const sources = p.layers.map((l): LayerSource => {
      if (!/^sha256:[0-9a-f]{64}$/.test(l.diffId)) throw unusable(image.label, `layer ${l.index} has an unsupported DiffID ${l.diffId}`);
      // Anything not gzip or zstd must say it is a plain tar (not, say, an encrypted layer).
      if (l.compression === 'none' && !/tar$/.test(l.mediaType)) {
        throw unusable(image.label, `layer ${l.index} has the media type ${l.mediaType}, which strata cannot unpack`);
      }
      return { diffId: l.diffId, blob: () => l.open(), compression: l.compression };
    });
    await unpackAll(rootfs, sources, opts);
    opts.onProgress?.({ phase: 'assemble' });
    const layers = p.layers.map((l) => l.diffId);
    const env = await rootfs.ensureEnv(layers);
    const record = await rootfs.writeTarget(key, {
      kind: 'image',
      name: t.ref,
      architecture: opts.architecture,
      envKey: env.envKey,
      layers,
      config: configOf(p.config.value.config ?? {}),
      manifestDigest: identity,
    });
    return { key, record, root: env.root, cold: true };
  } finally {
    await image.close();
  }
}

export async function openEnvironment(target: EnvTarget, opts: OpenOptions): Promise<OpenedEnv> {
  const rootfs = new RootfsCache(opts.cache);
  const opened =
    target.kind === 'image'
      ? await openImage(rootfs, target, opts)
      : target.kind === 'adhoc'
        ? await openSpec(rootfs, await adhocFiles(target, opts), opts)
        : await openSpec(rootfs, { ...target, kind: 'spec', name: target.specPath }, opts);
  await rootfs.touch(opened.key);
  return opened;
}

/** The lockfile text an environment is (or would be) built from, without building it. */
export async function environmentLock(target: EnvTarget, opts: OpenOptions): Promise<string> {
  if (target.kind === 'image') throw new StrataError('USAGE', `${target.ref} is an image: it has no lock`, { hint: '--print-lock works with package names and specs' });
  const files = target.kind === 'adhoc' ? await adhocFiles(target, opts) : { ...target, kind: 'spec' as const, name: target.specPath };
  const lockText = (await readInput(files.lockPath, () => new StrataError('LOCK_NOT_FOUND', `${files.lockPath} does not exist`, { hint: `run \`strata lock ${files.specPath}\` first` }))).toString('utf8');
  if (!files.forShell) return lockText;
  const { lock, added } = await effectiveLock(files, lockText, opts);
  if (added.length === 0) return lockText;
  const { formatLockfile } = await import('../debian/lockfile.js');
  return formatLockfile(lock);
}
