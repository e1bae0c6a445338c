// Owns what the registry serves, independent of HTTP: an image name and a reference → the
// manifest bytes to send (built on first request), blobs by digest, tags, referrers, the
// catalogue and the documents to rebuild an image. `handler.ts` maps it onto the protocol.
//
// References: `latest` is the snapshot held now; a snapshot tag (`20250520T081512Z-3fa2c0de`)
// is that snapshot, reopened from the cache when it is not the current one; a digest is any
// manifest the store holds. Records in the store never change once written, so they are
// remembered in memory and the hot path (a cached manifest) touches no disk.
import { readFile } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import type { CacheDir } from '../cache/cache-dir.js';
import type { NetworkOptions } from '../debian/download.js';
import { lockInputs } from '../build/lock.js';
import { configureSources } from '../build/sources.js';
import { parseSpec, specTextSha256 } from '../spec/parse-spec.js';
import type { LoadedSpec } from '../spec/spec.js';
import { digestHex, readBlobBytes, readJsonRecord, type BlobStore } from '../store/blob-store.js';
import type { Descriptor } from '../image/oci.js';
import { ImageBuilder, type BuildEvent, type ImageRecord } from './builder.js';
import type { ServerConfig } from './config.js';
import { canonicalName, parseImageName, requestedPackages } from './image-name.js';
import { imageSpecText } from './image-spec.js';
import { chooseMediaType, parseAccept } from './negotiate.js';
import { referrersIndex } from './referrers.js';
import { Snapshots, isSnapshotTag, type SnapshotEvent } from './snapshot.js';

export interface RegistryOptions {
  config: ServerConfig;
  store: BlobStore;
  cache: CacheDir;
  net?: NetworkOptions;
  workers?: number;
  onEvent?: (e: BuildEvent | SnapshotEvent) => void;
}

/** A name resolved to the image it stands for. */
interface ResolvedName {
  /** Store key of the image (one record-key segment). */
  key: string;
  canonical: string;
  /** For package sets: the request's spec text; named specs carry their own. */
  specText: string;
  loaded: LoadedSpec;
}

export interface ManifestResult {
  bytes: Buffer;
  mediaType: string;
  digest: string;
  /** How the image was found: in memory or the store (hit), built now (build), or another request's build (join). */
  via: 'hit' | 'build' | 'join' | 'digest';
}

const LATEST = 'latest';
const MAX_REMEMBERED = 10_000;

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= MAX_REMEMBERED) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

/** A generated spec as if loaded from a file; the path only names it in messages. */
function loadedFor(text: string, name: string): LoadedSpec {
  const path = `/strata-serve/${name.replace(/\//g, '_')}.yaml`;
  return { spec: parseSpec(text, path), path, textSha256: specTextSha256(text) };
}

export class Registry {
  readonly snapshots: Snapshots;
  readonly builder: ImageBuilder;
  private readonly names = new Map<string, ResolvedName>();
  private readonly records = new Map<string, ImageRecord>();
  private readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  private readonly named = new Map<string, ResolvedName>();
  /** Accept header (and the forms on offer) → the form chosen. */
  private readonly negotiated = new Map<string, string>();
  /** The most recent builds, newest last. */
  readonly recent: ImageRecord[] = [];

  private constructor(
    private readonly opts: RegistryOptions,
    snapshots: Snapshots,
  ) {
    this.snapshots = snapshots;
    const builderOpts: ConstructorParameters<typeof ImageBuilder>[0] = { store: opts.store, cache: opts.cache, limits: opts.config.limits, onEvent: (e) => this.onBuild(e) };
    if (opts.net !== undefined) builderOpts.net = opts.net;
    if (opts.workers !== undefined) builderOpts.workers = opts.workers;
    this.builder = new ImageBuilder(builderOpts);
  }

  /** Opens the archive (the first snapshot) and checks the named specs. */
  static async open(opts: RegistryOptions): Promise<Registry> {
    const { config } = opts;
    const probe = loadedFor(imageSpecText({ shell: false, nonroot: false, packages: ['strata-probe'] }, config), 'probe');
    const sources = await configureSources(probe);
    const snapOpts: ConstructorParameters<typeof Snapshots>[0] = { store: opts.store, cache: opts.cache, suites: sources.suites, architectures: config.architectures };
    if (opts.net !== undefined) snapOpts.net = opts.net;
    if (opts.onEvent !== undefined) snapOpts.onEvent = opts.onEvent;
    const r = new Registry(opts, new Snapshots(snapOpts));
    const probeSource = JSON.stringify(lockInputs(probe.spec).source);
    for (const [name, path] of Object.entries(config.specs).sort(([a], [b]) => (a < b ? -1 : 1))) {
      let text: string;
      let loaded: LoadedSpec;
      try {
        text = await readFile(path, 'utf8');
        loaded = { spec: parseSpec(text, path), path, textSha256: specTextSha256(text) };
      } catch (e) {
        throw new StrataError('CONFIG_INVALID', `specs.${name}: ${(e as Error).message}`, { cause: e });
      }
      if (JSON.stringify(lockInputs(loaded.spec).source) !== probeSource) {
        throw new StrataError('CONFIG_INVALID', `specs.${name}: ${path} names another source than the server (${JSON.stringify(lockInputs(loaded.spec).source)} against ${probeSource})`, {
          hint: 'a named spec is built from the server\'s snapshot: give it the same source: as the server config, or none when the server uses the host\'s apt sources',
        });
      }
      const missing = loaded.spec.architectures.filter((a) => !config.architectures.includes(a));
      if (missing.length > 0) throw new StrataError('CONFIG_INVALID', `specs.${name}: ${path} is for ${missing.join(', ')}, which the server does not serve (architectures: ${config.architectures.join(', ')})`);
      r.named.set(name, { key: `spec:${name}:${loaded.textSha256.slice(0, 12)}`, canonical: `spec/${name}`, specText: text, loaded });
    }
    await r.snapshots.start();
    for (const key of (await opts.store.listRecords('images/')).slice(-1000)) {
      const rec = await readJsonRecord<ImageRecord>(opts.store, key);
      if (rec !== undefined) r.recent.push(rec);
    }
    r.recent.sort((a, b) => (a.builtAt < b.builtAt ? -1 : a.builtAt > b.builtAt ? 1 : 0));
    r.recent.splice(0, Math.max(0, r.recent.length - 50));
    return r;
  }

  get config(): ServerConfig {
    return this.opts.config;
  }

  get store(): BlobStore {
    return this.opts.store;
  }

  private onBuild(e: BuildEvent): void {
    this.opts.onEvent?.(e);
  }

  /** The image a repository name stands for; NAME_INVALID, IMAGE_UNKNOWN or LIMIT_EXCEEDED otherwise. */
  resolve(name: string): ResolvedName {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    const { config } = this.opts;
    const req = parseImageName(name);
    let resolved: ResolvedName;
    if (req.spec !== undefined) {
      const n = this.named.get(req.spec);
      if (n === undefined) {
        throw new StrataError('IMAGE_UNKNOWN', `this server has no spec named ${req.spec}`, {
          hint: this.named.size > 0 ? `named specs: ${[...this.named.keys()].join(', ')}` : 'the server config lists no specs',
        });
      }
      resolved = n;
    } else {
      if (req.architecture !== undefined && !config.architectures.includes(req.architecture)) {
        throw new StrataError('IMAGE_UNKNOWN', `this server does not build for ${req.architecture}; it serves ${config.architectures.join(', ')}`, { hint: 'add the architecture to architectures: in the server config' });
      }
      const count = requestedPackages(req).length;
      if (count > config.limits.packages) {
        throw new StrataError('LIMIT_EXCEEDED', `${name} asks for ${count} packages; this server builds images of at most ${config.limits.packages} named packages (limits.packages)`, {
          detail: { packages: count, limit: config.limits.packages },
          hint: 'name fewer packages (their dependencies come by themselves), or use a named spec',
        });
      }
      const canonical = canonicalName(req, config.architectures[0]!);
      const specText = imageSpecText(req, config);
      resolved = { key: canonical.replace(/\//g, ':'), canonical, specText, loaded: loadedFor(specText, canonical) };
    }
    remember(this.names, name, resolved);
    return resolved;
  }

  private async imageAt(r: ResolvedName, tag: string): Promise<{ record: ImageRecord; via: ManifestResult['via'] }> {
    const snapshot = tag === LATEST ? this.snapshots.current : isSnapshotTag(tag) ? await this.snapshots.byTag(tag) : undefined;
    if (snapshot === undefined) {
      throw new StrataError('MANIFEST_UNKNOWN', `${r.canonical} has no tag ${tag}`, {
        hint: `tags are latest and the snapshots this server has held (GET /v2/${r.canonical}/tags/list)`,
      });
    }
    const memo = `${r.key}@${snapshot.record.tag}`;
    const cached = this.records.get(memo);
    if (cached !== undefined) return { record: cached, via: 'hit' };
    const stored = await this.builder.record(r.key, snapshot.record.tag);
    if (stored !== undefined) {
      remember(this.records, memo, stored);
      return { record: stored, via: 'hit' };
    }
    const { promise, joined } = this.builder.ensure({ key: r.key, name: r.canonical, snapshot, loaded: r.loaded, specText: r.specText });
    promise.catch(() => undefined); // a timed-out waiter leaves; the build's own outcome is logged
    const limit = this.opts.config.limits.buildTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new StrataError('BUILD_TIMEOUT', `the build of ${r.canonical} did not finish within ${limit / 1000} s (limits.build-timeout); it goes on in the background`, { hint: 'pull again in a minute: the finished image is served at once' }));
      }, limit);
    });
    try {
      const record = await Promise.race([promise, timeout]);
      remember(this.records, memo, record);
      if (!joined) {
        this.recent.push(record);
        if (this.recent.length > 50) this.recent.shift();
      }
      return { record, via: joined ? 'join' : 'build' };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A manifest blob by digest, if the store holds it as a manifest. */
  async manifestByDigest(digest: string): Promise<{ bytes: Buffer; mediaType: string } | undefined> {
    const known = this.manifests.get(digest);
    if (known !== undefined) return known;
    const hex = digestHex(digest);
    const marker = await readJsonRecord<{ mediaType: string }>(this.opts.store, `manifests/${hex}`);
    if (marker === undefined) return undefined;
    const bytes = await readBlobBytes(this.opts.store, digest);
    if (bytes === undefined) return undefined;
    const m = { bytes, mediaType: marker.mediaType };
    remember(this.manifests, digest, m);
    return m;
  }

  private choose(accept: string | string[] | undefined, record: ImageRecord): Descriptor {
    const key = `${Array.isArray(accept) ? accept.join(', ') : (accept ?? '')}\n${record.variants.length}:${record.root.mediaType}`;
    let mediaType = this.negotiated.get(key);
    if (mediaType === undefined) {
      mediaType = chooseMediaType(parseAccept(accept), record.variants.map((v) => v.mediaType));
      remember(this.negotiated, key, mediaType);
    }
    return record.variants.find((v) => v.mediaType === mediaType)!;
  }

  /**
   * The answer for a manifest that is already in memory, with no I/O and no waiting (the hot
   * path: a cached image pulled again); undefined when anything must be read or built.
   */
  cachedManifest(name: string, reference: string, accept: string | string[] | undefined): ManifestResult | undefined {
    const r = this.names.get(name);
    if (r === undefined) return undefined;
    if (reference.includes(':')) {
      const m = this.manifests.get(reference);
      return m === undefined ? undefined : { bytes: m.bytes, mediaType: m.mediaType, digest: reference, via: 'digest' };
    }
    const tag = reference === LATEST ? this.snapshots.current?.record.tag : reference;
    const record = tag === undefined ? undefined : this.records.get(`${r.key}@${tag}`);
    if (record === undefined) return undefined;
    const chosen = this.choose(accept, record);
    const m = this.manifests.get(chosen.digest);
    return m === undefined ? undefined : { bytes: m.bytes, mediaType: m.mediaType, digest: chosen.digest, via: 'hit' };
  }

  async manifest(name: string, reference: string, accept: string | string[] | undefined): Promise<ManifestResult> {
    const r = this.resolve(name);
    if (reference.includes(':')) {
      const m = await this.manifestByDigest(reference);
      if (m === undefined) throw new StrataError('MANIFEST_UNKNOWN', `no manifest ${reference} in this registry`, { hint: `pull ${r.canonical}:latest to build it` });
      return { ...m, digest: reference, via: 'digest' };
    }
    const { record, via } = await this.imageAt(r, reference);
    const chosen = this.choose(accept, record);
    const m = await this.manifestByDigest(chosen.digest);
    if (m === undefined) throw new StrataError('STORE_ERROR', `the store lost the manifest ${chosen.digest} of ${r.canonical}`, { hint: 'remove the image record under images/ in the store to rebuild it' });
    return { ...m, digest: chosen.digest, via };
  }

  /** Tags of a name: every snapshot held, then latest (byte order, as the spec asks). */
  async tags(name: string): Promise<{ name: string; tags: string[] }> {
    this.resolve(name);
    const tags = [...(await this.snapshots.tags()), LATEST].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { name, tags };
  }

  async referrers(name: string, digest: string, artifactType?: string): Promise<{ bytes: Buffer; filtered: boolean }> {
    this.resolve(name);
    return referrersIndex(this.opts.store, digest, artifactType);
  }

  /** Canonical names of every image in the store. */
  async catalog(): Promise<string[]> {
    const keys = await this.opts.store.listRecords('images/');
    const names = new Set(keys.map((k) => k.split('/')[1]!).map((k) => (k.startsWith('spec:') ? `spec/${k.split(':')[1]}` : k.replace(/:/g, '/'))));
    return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The spec text or the lockfile an image was built from (built now if needed). */
  async buildDocument(name: string, tag: string, document: 'spec' | 'lock'): Promise<Buffer> {
    const r = this.resolve(name);
    const { record } = await this.imageAt(r, tag);
    const bytes = await readBlobBytes(this.opts.store, record[document].digest);
    if (bytes === undefined) throw new StrataError('STORE_ERROR', `the store lost the ${document} of ${r.canonical}`);
    return bytes;
  }
}
