// Owns pushing an image to a registry (OCI Distribution spec, "push"):
//   1. every blob (layers, configs, artifact payloads): skipped when the registry has it
//      (HEAD); mounted from another repository of the same registry when one is named;
//      otherwise uploaded — in one PUT up to `chunkThreshold`, in PATCH chunks above it,
//      resuming from the registry's `Range` after a dropped connection;
//   2. manifests by digest (a platform's manifest after its blobs, an index after its
//      manifests), then the artifacts that refer to them (`subject`); when the registry does
//      not answer `OCI-Subject`, the referrers tag schema (`sha256-<hex>` index) is updated;
//   3. tags last, so no tag ever points at content that is not all there.
// Every answer is checked: a registry that reports another digest than ours is an error.
import { createReadStream } from 'node:fs';
import { StrataError } from '../../errors.js';
import { sha256Hex } from '../../digest/sha256.js';
import { canonicalJson } from '../../digest/canonical-json.js';
import { mapConcurrent } from '../../util/map-concurrent.js';
import { MEDIA, type Descriptor, type ImageIndex, type ImageManifest } from '../oci.js';
import type { BlobSource } from '../layout.js';
import { repositoryScope, type RegistryClient } from './client.js';
import { registryError } from './errors.js';
import { drain, isTransient, readBody, type Body, type HttpResponse } from './transport.js';

export interface PushableImage {
  /** The manifest or index that tags point at. */
  root: Descriptor;
  /** Every blob reachable from root and from the referrers, manifests included. */
  blobs: Map<string, BlobSource>;
  /** Artifact manifests whose `subject` is root or one of its manifests. */
  referrers?: Descriptor[];
}

export type PushProgress =
  | { kind: 'blob'; digest: string; size: number; action: 'exists' | 'mounted' | 'uploaded'; done: number; total: number }
  | { kind: 'bytes'; digest: string; sent: number; size: number }
  | { kind: 'manifest'; digest: string; mediaType: string }
  | { kind: 'referrer'; digest: string; artifactType?: string; via: 'referrers-api' | 'tag-schema' }
  | { kind: 'tag'; tag: string; digest: string }
  | { kind: 'retry'; what: string; reason: string };

export interface PushOptions {
  repository: string;
  tags: string[];
  /** Other repositories of the same registry to mount blobs from. */
  mountFrom?: string[];
  /** Where this registry is known to hold a blob already (digest → repositories), e.g. from
   *  earlier pushes: such blobs are mounted from there, as docker does, instead of uploaded. */
  knownLocations?: ReadonlyMap<string, readonly string[]>;
  /** Blobs larger than this go up in chunks (default 32 MiB). */
  chunkThreshold?: number;
  chunkSize?: number;
  concurrency?: number;
  onProgress?: (p: PushProgress) => void;
}

export interface PushResult {
  digest: string;
  tags: string[];
  blobs: { exists: number; mounted: number; uploaded: number; bytesUploaded: number };
  manifests: string[];
  referrers: Array<{ digest: string; artifactType?: string; via: 'referrers-api' | 'tag-schema' }>;
}

function sizeOf(s: BlobSource): number {
  return s.kind === 'bytes' ? s.bytes.length : s.size;
}

function bodyOf(s: BlobSource, start = 0, end = sizeOf(s)): Body {
  if (s.kind === 'bytes') return s.bytes.subarray(start, end);
  return { length: end - start, open: () => (end > start ? createReadStream(s.path, { start, end: end - 1, highWaterMark: 1 << 20 }) : (async function* () {})()) };
}

async function bytesOf(s: BlobSource): Promise<Buffer> {
  if (s.kind === 'bytes') return s.bytes;
  const chunks: Buffer[] = [];
  for await (const c of createReadStream(s.path)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}

/** Path and query of an absolute or relative Location, for the client. */
function pathOf(client: RegistryClient, location: string): string {
  const u = new URL(location, client.base);
  return `${u.pathname}${u.search}`;
}

interface Walked {
  /** Blobs (not manifests) in push order, once each. */
  blobs: string[];
  /** Manifests in push order: each after its blobs, an index after its manifests. */
  manifests: Descriptor[];
}

async function walk(image: PushableImage): Promise<Walked> {
  const blobs: string[] = [];
  const seen = new Set<string>();
  const manifests: Descriptor[] = [];
  const need = (d: Descriptor) => {
    if (!image.blobs.has(d.digest)) throw new StrataError('IMAGE_INVALID', `the image is incomplete: ${d.mediaType} ${d.digest} is missing`);
  };
  const visit = async (d: Descriptor): Promise<void> => {
    need(d);
    const doc = JSON.parse((await bytesOf(image.blobs.get(d.digest)!)).toString('utf8')) as ImageManifest & ImageIndex;
    if (Array.isArray(doc.manifests)) {
      for (const m of doc.manifests) await visit(m);
    } else {
      for (const b of [doc.config, ...(doc.layers ?? [])]) {
        if (b === undefined) continue;
        need(b);
        if (!seen.has(b.digest)) {
          seen.add(b.digest);
          blobs.push(b.digest);
        }
      }
    }
    if (!manifests.some((m) => m.digest === d.digest)) manifests.push(d);
  };
  await visit(image.root);
  for (const r of image.referrers ?? []) await visit(r);
  return { blobs, manifests };
}

export async function pushWithClient(client: RegistryClient, image: PushableImage, options: PushOptions): Promise<PushResult> {
  const repo = options.repository;
  const mountFrom = (options.mountFrom ?? []).filter((r) => r !== repo);
  const known = options.knownLocations ?? new Map<string, readonly string[]>();
  const knownRepos = [...new Set([...known.values()].flat())].filter((r) => r !== repo && !mountFrom.includes(r)).sort();
  const scopes = [repositoryScope(repo, ['pull', 'push']), ...[...mountFrom, ...knownRepos].map((r) => repositoryScope(r, ['pull']))];
  const threshold = options.chunkThreshold ?? 32 << 20;
  const chunkSize = options.chunkSize ?? 16 << 20;
  const progress = options.onProgress ?? (() => undefined);
  const result: PushResult = { digest: image.root.digest, tags: [], blobs: { exists: 0, mounted: 0, uploaded: 0, bytesUploaded: 0 }, manifests: [], referrers: [] };
  const { blobs, manifests } = await walk(image);
  const fail = async (res: HttpResponse, what: string) => registryError(res, await readBody(res, 1 << 20).catch(() => Buffer.alloc(0)), what, client.host);

  const exists = async (digest: string): Promise<boolean> => {
    const res = await client.fetch({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}` }, scopes);
    await drain(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await fail(res, `HEAD blob ${digest}`);
  };

  /** Starts an upload (or mounts); returns the upload Location, or undefined when mounted. */
  const start = async (digest: string): Promise<string | undefined> => {
    const sources = [...new Set([...mountFrom, ...(known.get(digest) ?? [])])].filter((r) => r !== repo);
    for (const from of sources) {
      const res = await client.fetch({ method: 'POST', path: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` }, scopes);
      await drain(res);
      if (res.status === 201) return undefined;
      if (res.status === 202 && res.headers.location) return res.headers.location; // not mountable: upload into this session
      // A remembered location is a hint: a refusal there (rights, a deleted repository) means upload.
      if (res.status !== 202 && mountFrom.includes(from)) throw await fail(res, `mount ${digest} from ${from}`);
    }
    const res = await client.fetch({ method: 'POST', path: `/v2/${repo}/blobs/uploads/` }, scopes);
    await drain(res);
    if (res.status !== 202 || !res.headers.location) throw await fail(res, `start the upload of ${digest}`);
    return res.headers.location;
  };

  const finish = async (location: string, digest: string, body?: Body): Promise<void> => {
    const req: Parameters<RegistryClient['fetch']>[0] = { method: 'PUT', path: pathOf(client, withDigest(new URL(location, client.base).toString(), digest)), headers: { 'Content-Type': 'application/octet-stream' } };
    if (body !== undefined) req.body = body;
    const res = await client.fetch(req, scopes, false);
    if (res.status !== 201 && res.status !== 204) throw await fail(res, `finish the upload of ${digest}`);
    await drain(res);
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && got !== digest) throw new StrataError('REGISTRY_ERROR', `${client.host} stored ${digest} as ${got}`);
  };

  /** Where an interrupted chunked upload stands: the next offset, or undefined if the session is gone. */
  const offsetOf = async (location: string): Promise<{ offset: number; location: string } | undefined> => {
    const res = await client.fetch({ method: 'GET', path: pathOf(client, location) }, scopes);
    await drain(res);
    if (res.status !== 204 && res.status !== 202) return undefined;
    const range = typeof res.headers.range === 'string' ? /^(?:bytes=)?0-([0-9]+)$/.exec(res.headers.range) : null;
    // distribution answers "0-0" both for nothing and for one byte: then start again.
    if (range === null || range[1] === '0') return undefined;
    return { offset: Number(range[1]) + 1, location: res.headers.location ?? location };
  };

  const chunked = async (location: string, digest: string, source: BlobSource): Promise<void> => {
    const size = sizeOf(source);
    let offset = 0;
    let failures = 0;
    while (offset < size) {
      const end = Math.min(size, offset + chunkSize);
      try {
        const res = await client.fetch(
          {
            method: 'PATCH',
            path: pathOf(client, location),
            headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${end - 1}` },
            body: bodyOf(source, offset, end),
          },
          scopes,
          false,
        );
        await drain(res);
        if (res.status !== 202 && res.status !== 204) {
          if (res.status < 500) throw await fail(res, `upload bytes ${offset}-${end - 1} of ${digest}`);
          throw Object.assign(new Error(`HTTP ${res.status}`), { code: 'ECONNRESET' });
        }
        if (res.headers.location) location = res.headers.location;
        const range = typeof res.headers.range === 'string' ? /^(?:bytes=)?0-([0-9]+)$/.exec(res.headers.range) : null;
        offset = range ? Number(range[1]) + 1 : end;
        progress({ kind: 'bytes', digest, sent: offset, size });
      } catch (e) {
        if (!isTransient(e) || ++failures > (client.transport.options.retries ?? 3)) throw e;
        progress({ kind: 'retry', what: `upload of ${digest}`, reason: (e as Error).message });
        await new Promise((r) => setTimeout(r, (client.transport.options.backoffMs ?? 250) * 2 ** (failures - 1)));
        const at = await offsetOf(location);
        if (at === undefined) throw Object.assign(new Error('the upload session is gone'), { code: 'UPLOAD_RESTART' });
        offset = at.offset;
        location = at.location;
      }
    }
    await finish(location, digest);
  };

  const pushBlob = async (digest: string, done: () => number): Promise<void> => {
    const source = image.blobs.get(digest)!;
    const size = sizeOf(source);
    if (await exists(digest)) {
      result.blobs.exists++;
      progress({ kind: 'blob', digest, size, action: 'exists', done: done(), total: blobs.length });
      return;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const location = await start(digest);
        if (location === undefined) {
          result.blobs.mounted++;
          progress({ kind: 'blob', digest, size, action: 'mounted', done: done(), total: blobs.length });
          return;
        }
        if (size > threshold) await chunked(location, digest, source);
        else await finish(location, digest, bodyOf(source));
        break;
      } catch (e) {
        const restart = (e as NodeJS.ErrnoException).code === 'UPLOAD_RESTART' || isTransient(e);
        if (!restart || attempt >= (client.transport.options.retries ?? 3)) {
          if (e instanceof StrataError) throw e;
          throw new StrataError('REGISTRY_ERROR', `${client.host}: the upload of ${digest} failed: ${(e as Error).message}`, { cause: e });
        }
        progress({ kind: 'retry', what: `upload of ${digest}`, reason: (e as Error).message });
      }
    }
    result.blobs.uploaded++;
    result.blobs.bytesUploaded += size;
    progress({ kind: 'blob', digest, size, action: 'uploaded', done: done(), total: blobs.length });
  };

  let count = 0;
  await mapConcurrent(blobs, options.concurrency ?? 3, (d) => pushBlob(d, () => ++count));

  const putManifest = async (d: Descriptor, reference: string, given?: Buffer): Promise<HttpResponse> => {
    const bytes = given ?? (await bytesOf(image.blobs.get(d.digest)!));
    if (`sha256:${sha256Hex(bytes)}` !== d.digest) throw new StrataError('IMAGE_INVALID', `the manifest ${d.digest} does not hash to its digest`);
    const res = await client.fetch({ method: 'PUT', path: `/v2/${repo}/manifests/${reference}`, headers: { 'Content-Type': d.mediaType }, body: bytes }, scopes);
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await fail(res, `PUT manifest ${reference}`);
    await drain(res);
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && got !== d.digest) throw new StrataError('REGISTRY_ERROR', `${client.host} stored the manifest ${d.digest} as ${got}`);
    return res;
  };

  const referrerDigests = new Set((image.referrers ?? []).map((r) => r.digest));
  const fallback = new Map<string, Descriptor[]>(); // subject digest → referrers for the tag schema
  for (const m of manifests) {
    const res = await putManifest(m, m.digest);
    result.manifests.push(m.digest);
    progress({ kind: 'manifest', digest: m.digest, mediaType: m.mediaType });
    if (referrerDigests.has(m.digest)) {
      const doc = JSON.parse((await bytesOf(image.blobs.get(m.digest)!)).toString('utf8')) as ImageManifest;
      const artifactType = doc.artifactType ?? doc.config.mediaType;
      const entry: Descriptor & { artifactType?: string } = { mediaType: m.mediaType, digest: m.digest, size: m.size, artifactType };
      if (doc.annotations !== undefined) entry.annotations = doc.annotations;
      const via = res.headers['oci-subject'] !== undefined ? 'referrers-api' : 'tag-schema';
      if (via === 'tag-schema' && doc.subject !== undefined) fallback.set(doc.subject.digest, [...(fallback.get(doc.subject.digest) ?? []), entry]);
      result.referrers.push({ digest: m.digest, artifactType, via });
      progress({ kind: 'referrer', digest: m.digest, artifactType, via });
    }
  }

  // The referrers tag schema, for registries without the referrers API: merge with what is there.
  for (const [subject, entries] of fallback) {
    const tag = subject.replace(':', '-');
    const res = await client.fetch({ method: 'GET', path: `/v2/${repo}/manifests/${tag}`, headers: { Accept: MEDIA.index } }, scopes);
    let existing: Descriptor[] = [];
    if (res.status === 200) existing = ((JSON.parse((await readBody(res)).toString('utf8')) as ImageIndex).manifests ?? []).filter((d) => !entries.some((e) => e.digest === d.digest));
    else if (res.status === 404) await drain(res);
    else throw await fail(res, `GET the referrers index ${tag}`);
    const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA.index, manifests: [...existing, ...entries] };
    const bytes = Buffer.from(canonicalJson(index));
    const d: Descriptor = { mediaType: MEDIA.index, digest: `sha256:${sha256Hex(bytes)}`, size: bytes.length };
    await putManifest(d, tag, bytes);
  }

  for (const tag of options.tags) {
    await putManifest(image.root, tag);
    result.tags.push(tag);
    progress({ kind: 'tag', tag, digest: image.root.digest });
  }
  return result;
}
