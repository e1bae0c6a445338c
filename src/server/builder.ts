// Owns on-demand builds: one image (a spec text) at one snapshot → lock against the
// snapshot's verified indexes → `buildImage` (per-package layers come from the cache when any
// earlier image had them) → every blob into the store → the image record, written last.
//
// Guarantees: concurrent requests for the same image and snapshot share one build; at most
// `limits.builds` builds run and `limits.queue` wait (then BUSY); the closure is checked
// against the limits before anything is built; and a build that fails leaves nothing visible —
// blobs are content-addressed and verified, and the record that makes the image exist is
// written only after all of them.
import { createReadStream } from 'node:fs';
import { StrataError } from '../errors.js';
import { canonicalJson } from '../digest/canonical-json.js';
import { sha256Hex } from '../digest/sha256.js';
import type { CacheDir } from '../cache/cache-dir.js';
import type { NetworkOptions } from '../debian/download.js';
import { formatLockfile, type Lockfile } from '../debian/lockfile.js';
import { lock } from '../build/lock.js';
import { buildImage } from '../build/build.js';
import { buildEvidence } from '../build/attestations.js';
import { attachArtifact } from './referrers.js';
import type { LoadedSpec } from '../spec/spec.js';
import { MEDIA, jsonBlob, type Descriptor, type ImageManifest } from '../image/oci.js';
import { manifestVariants } from '../image/manifest-variants.js';
import { readJsonRecord, type BlobStore } from '../store/blob-store.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { Semaphore } from '../util/semaphore.js';
import { SingleFlight } from '../util/single-flight.js';
import type { ServerLimits } from './config.js';
import type { Snapshot } from './snapshot.js';

/** What the store says about one image at one snapshot. */
export interface ImageRecord {
  /** The canonical image name. */
  name: string;
  snapshot: string;
  /** The image: its OCI manifest (or index, for a multi-architecture named spec). */
  root: Descriptor;
  /** Every manifest served for this image, the root first: Docker schema 2 and list forms too. */
  variants: Descriptor[];
  spec: { digest: string; size: number };
  lock: { digest: string; size: number };
  lockDigest: string;
  packages: number;
  layers: number;
  cachedLayers: number;
  /** Compressed bytes of the layers. */
  bytes: number;
  builtAt: string;
  buildMs: number;
}

export interface BuildJob {
  /** The store key of the image (one path segment). */
  key: string;
  /** The canonical name, for records and messages. */
  name: string;
  snapshot: Snapshot;
  loaded: LoadedSpec;
  specText: string;
}

export type BuildEvent =
  | { event: 'build-start'; name: string; snapshot: string; queued: number }
  | { event: 'build-done'; name: string; snapshot: string; digest: string; ms: number; packages: number; layers: number; cachedLayers: number; bytes: number }
  | { event: 'build-failed'; name: string; snapshot: string; code: string; message: string; ms: number };

export interface BuilderOptions {
  store: BlobStore;
  cache: CacheDir;
  limits: ServerLimits;
  net?: NetworkOptions;
  /** Compression threads per build (the bytes do not depend on it). */
  workers?: number;
  onEvent?: (e: BuildEvent) => void;
}

export function imageRecordKey(key: string, snapshot: string): string {
  return `images/${key}/${snapshot}`;
}

export class ImageBuilder {
  private readonly flights = new SingleFlight<ImageRecord>();
  private readonly slots: Semaphore;

  constructor(private readonly opts: BuilderOptions) {
    this.slots = new Semaphore(opts.limits.builds, opts.limits.queue);
  }

  get running(): number {
    return this.slots.running;
  }

  get waiting(): number {
    return this.slots.waiting;
  }

  async record(key: string, snapshot: string): Promise<ImageRecord | undefined> {
    return readJsonRecord<ImageRecord>(this.opts.store, imageRecordKey(key, snapshot));
  }

  /** The image's record, built now unless the store has it; `joined` when another request started the build. */
  ensure(job: BuildJob): { promise: Promise<ImageRecord>; joined: boolean } {
    const tag = job.snapshot.record.tag;
    return this.flights.run(`${job.key}@${tag}`, async () => {
      const existing = await this.record(job.key, tag);
      if (existing !== undefined) return existing;
      const release = await this.slots.acquire();
      if (release === undefined) {
        throw new StrataError('BUSY', `the server is already running ${this.slots.running} builds with ${this.slots.waiting} waiting, its limit (limits.builds, limits.queue)`, {
          hint: 'retry in a minute; images built before are served at once',
        });
      }
      try {
        return await this.build(job);
      } finally {
        release();
      }
    });
  }

  private checkClosure(job: BuildJob, lockfile: Lockfile): void {
    const { closurePackages, closureBytes } = this.opts.limits;
    for (const [arch, closure] of Object.entries(lockfile.architectures)) {
      const n = closure.packages.length;
      const bytes = closure.packages.reduce((s, p) => s + p.installedSize * 1024, 0);
      if (n > closurePackages) {
        throw new StrataError('LIMIT_EXCEEDED', `${job.name} needs ${n} packages on ${arch}; this server builds closures of at most ${closurePackages} (limits.closure-packages)`, {
          detail: { packages: n, limit: closurePackages },
          hint: 'ask for fewer packages, or raise limits.closure-packages in the server config',
        });
      }
      if (bytes > closureBytes) {
        throw new StrataError('LIMIT_EXCEEDED', `${job.name} installs ${(bytes / 1e6).toFixed(0)} MB on ${arch}; this server builds closures of at most ${(closureBytes / 1e6).toFixed(0)} MB (limits.closure-size)`, {
          detail: { bytes, limit: closureBytes },
          hint: 'ask for fewer packages, or raise limits.closure-size in the server config',
        });
      }
    }
  }

  private async build(job: BuildJob): Promise<ImageRecord> {
    const { store, cache } = this.opts;
    const tag = job.snapshot.record.tag;
    const started = performance.now();
    this.opts.onEvent?.({ event: 'build-start', name: job.name, snapshot: tag, queued: this.slots.waiting });
    try {
      const lockOpts: Parameters<typeof lock>[1] = { cache, suites: job.snapshot.suites };
      if (this.opts.net !== undefined) lockOpts.net = this.opts.net;
      const { lock: lockfile } = await lock(job.loaded, lockOpts);
      this.checkClosure(job, lockfile);
      const buildOpts: Parameters<typeof buildImage>[2] = { cache };
      if (this.opts.net !== undefined) buildOpts.net = this.opts.net;
      if (this.opts.workers !== undefined) buildOpts.workers = this.opts.workers;
      const result = await buildImage(job.loaded, lockfile, buildOpts);
      const { image } = result;

      // 1. Layers and configs (and, for an index, its manifests): verified into the store.
      await mapConcurrent([...image.blobs].sort(([a], [b]) => (a < b ? -1 : 1)), 4, async ([digest, source]) => {
        if (source.kind === 'bytes') await store.write(digest, source.bytes, source.bytes.length);
        else if (store.writeFile !== undefined) await store.writeFile(digest, source.path, source.size);
        else await store.write(digest, createReadStream(source.path, { highWaterMark: 1 << 20 }), source.size);
      });
      // 2. The other forms of a one-platform image, for content negotiation.
      const variants: Descriptor[] = [image.root];
      if (image.root.mediaType === MEDIA.manifest && image.platforms.length === 1) {
        const { manifest, config } = image.platforms[0]!;
        const bytes = image.blobs.get(image.root.digest)!;
        const platform = { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) };
        const v = manifestVariants((bytes as { bytes: Buffer }).bytes, manifest as ImageManifest, platform);
        for (const b of [v.docker, v.ociIndex, v.dockerList]) {
          await store.write(b.descriptor.digest, b.bytes, b.bytes.length);
          variants.push(b.descriptor);
        }
      } else {
        // A multi-architecture index: its platform manifests are served by digest too.
        for (const p of image.platforms) variants.push(jsonBlob(p.manifest, MEDIA.manifest).descriptor);
      }
      // 3. The spec and the lock, so anyone can rebuild the digest with `strata build`.
      const specBytes = Buffer.from(job.specText, 'utf8');
      const lockBytes = Buffer.from(formatLockfile(lockfile), 'utf8');
      const specBlob = { digest: `sha256:${sha256Hex(specBytes)}`, size: specBytes.length };
      const lockBlob = { digest: `sha256:${sha256Hex(lockBytes)}`, size: lockBytes.length };
      await store.write(specBlob.digest, specBytes, specBytes.length);
      await store.write(lockBlob.digest, lockBytes, lockBytes.length);
      // 3b. The evidence (SBOMs per platform, provenance), attached as referrers of the image,
      //     the same documents `strata build --sbom` writes: listed by /v2/NAME/referrers/DIGEST.
      for (const doc of buildEvidence(lockfile, result, { name: job.name, specName: job.name })) {
        const manifestBytes = doc.artifact.blobs.get(doc.artifact.descriptor.digest)!;
        for (const [digest, bytes] of doc.artifact.blobs) if (digest !== doc.artifact.descriptor.digest) await store.write(digest, bytes, bytes.length);
        await attachArtifact(store, manifestBytes);
      }
      // 4. What marks each manifest as one (served under /manifests/), then the image record.
      for (const d of variants) await store.writeRecord(`manifests/${d.digest.slice(7)}`, Buffer.from(canonicalJson({ mediaType: d.mediaType, size: d.size })));
      const layers = result.platforms.flatMap((p) => p.layers);
      const record: ImageRecord = {
        name: job.name,
        snapshot: tag,
        root: image.root,
        variants,
        spec: specBlob,
        lock: lockBlob,
        lockDigest: result.lockDigest,
        packages: Object.values(lockfile.architectures).reduce((n, c) => n + c.packages.length, 0),
        layers: layers.length,
        cachedLayers: layers.filter((l) => l.cached).length,
        bytes: layers.reduce((n, l) => n + l.size, 0),
        builtAt: new Date().toISOString(),
        buildMs: Math.round(performance.now() - started),
      };
      await store.writeRecord(imageRecordKey(job.key, tag), Buffer.from(canonicalJson(record)));
      this.opts.onEvent?.({ event: 'build-done', name: job.name, snapshot: tag, digest: image.root.digest, ms: record.buildMs, packages: record.packages, layers: record.layers, cachedLayers: record.cachedLayers, bytes: record.bytes });
      return record;
    } catch (e) {
      const err = e instanceof StrataError ? e : new StrataError('INTERNAL', `building ${job.name} failed: ${(e as Error).message}`, { cause: e });
      this.opts.onEvent?.({ event: 'build-failed', name: job.name, snapshot: tag, code: err.code, message: err.message, ms: Math.round(performance.now() - started) });
      throw err;
    }
  }
}
