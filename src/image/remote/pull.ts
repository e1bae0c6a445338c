// Owns pulling an image from a registry into an OCI image layout: the manifest (or index and
// every platform's manifest, or just one platform), each checked against its digest, then
// every blob streamed to a scratch directory while it is hashed, kept only when the digest
// matches, and the layout written atomically (image/layout.ts). Blobs already in the scratch
// directory are not fetched again, so an interrupted pull resumes where it stopped.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { StrataError } from '../../errors.js';
import { sha256Hex } from '../../digest/sha256.js';
import { mapConcurrent } from '../../util/map-concurrent.js';
import { MEDIA, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from '../oci.js';
import { writeOciLayout, type BlobSource } from '../layout.js';
import { repositoryScope, type RegistryClient } from './client.js';
import { registryError } from './errors.js';
import { drain, isTransient, readBody } from './transport.js';
import { formatReference, manifestReference, type ImageReference } from './reference.js';

export const MANIFEST_ACCEPT = [MEDIA.index, MEDIA.manifest, MEDIA.dockerManifestList, MEDIA.dockerManifest].join(', ');

export interface PullOptions {
  /** The OCI layout directory to write (replaced atomically). */
  dir: string;
  /** The tag inside the layout (default: the reference's tag, else "latest"). */
  tag?: string;
  /** Keep only this platform of an index; its manifest becomes the layout's root. */
  platform?: Platform;
  /** Scratch directory for blobs (kept between attempts to resume); default: DIR.partial. */
  scratch?: string;
  concurrency?: number;
  onProgress?: (p: { kind: 'manifest' | 'blob'; digest: string; size: number; cached?: boolean }) => void;
}

export interface PulledImage {
  dir: string;
  /** The digest of the layout's root (the manifest or index that was pulled). */
  digest: string;
  mediaType: string;
  reference: string;
  blobs: number;
  bytes: number;
}

/** Fetches a manifest by tag or digest, verified; returns its bytes and descriptor. */
export async function fetchManifest(client: RegistryClient, ref: ImageReference, reference = manifestReference(ref)): Promise<{ bytes: Buffer; descriptor: Descriptor }> {
  const res = await client.fetch({ method: 'GET', path: `/v2/${ref.repository}/manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT } }, [repositoryScope(ref.repository, ['pull'])]);
  const bytes = await readBody(res, 8 << 20);
  if (res.status !== 200) throw registryError(res, bytes, `GET manifest ${formatReference({ ...ref, ...(reference.includes(':') ? { digest: reference } : { tag: reference }) })}`, client.host);
  const digest = `sha256:${sha256Hex(bytes)}`;
  if (reference.startsWith('sha256:') && reference !== digest) {
    throw new StrataError('BLOB_DIGEST_MISMATCH', `${client.host} answered ${reference} with a manifest whose digest is ${digest}`);
  }
  const header = res.headers['docker-content-digest'];
  if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
    throw new StrataError('BLOB_DIGEST_MISMATCH', `${client.host} says the manifest of ${reference} is ${header}, but its bytes hash to ${digest}`);
  }
  let mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
  try {
    const m = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown };
    if (typeof m.mediaType === 'string') mediaType = m.mediaType;
    else if (mediaType === '' || mediaType === 'application/json') mediaType = Array.isArray(m.manifests) ? MEDIA.index : MEDIA.manifest;
  } catch {
    throw new StrataError('IMAGE_INVALID', `the manifest of ${reference} on ${client.host} is not JSON`);
  }
  return { bytes, descriptor: { mediaType, digest, size: bytes.length } };
}

function samePlatform(a: Platform | undefined, b: Platform): boolean {
  return a !== undefined && a.os === b.os && a.architecture === b.architecture && (b.variant === undefined || a.variant === b.variant);
}

async function fetchBlob(client: RegistryClient, repository: string, d: Descriptor, target: string): Promise<void> {
  const retries = client.transport.options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await client.fetch({ method: 'GET', path: `/v2/${repository}/blobs/${d.digest}` }, [repositoryScope(repository, ['pull'])]);
      if (res.status !== 200) throw registryError(res, await readBody(res, 1 << 20), `GET blob ${d.digest}`, client.host);
      const hash = createHash('sha256');
      let n = 0;
      const temp = `${target}.part`;
      const meter = new Transform({
        transform(chunk: Buffer, _e, done) {
          hash.update(chunk);
          n += chunk.length;
          done(null, chunk);
        },
      });
      try {
        await pipeline(res.stream, meter, createWriteStream(temp));
      } catch (e) {
        await rm(temp, { force: true });
        throw Object.assign(new Error(`the blob ${d.digest} was cut short: ${(e as Error).message}`), { code: 'FETCH_TRUNCATED' });
      }
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== d.digest || n !== d.size) {
        await rm(temp, { force: true });
        throw new StrataError('BLOB_DIGEST_MISMATCH', `${client.host} sent ${n} bytes hashing to ${got} for ${d.digest} (${d.size} bytes)`);
      }
      await rename(temp, target);
      return;
    } catch (e) {
      if (!isTransient(e) || attempt >= retries) {
        if (e instanceof StrataError) throw e;
        throw new StrataError('REGISTRY_ERROR', `${client.host}: GET blob ${d.digest} failed: ${(e as Error).message}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, (client.transport.options.backoffMs ?? 250) * 2 ** attempt));
    }
  }
}

/** Pulls REF into an OCI layout directory; the layout's root is the pulled manifest or index. */
export async function pullWithClient(client: RegistryClient, ref: ImageReference, options: PullOptions): Promise<PulledImage> {
  const scratch = options.scratch ?? `${options.dir}.partial`;
  await mkdir(scratch, { recursive: true });
  const blobs = new Map<string, BlobSource>();
  const progress = options.onProgress ?? (() => undefined);
  let top = await fetchManifest(client, ref);
  if (options.platform !== undefined && (top.descriptor.mediaType === MEDIA.index || top.descriptor.mediaType === MEDIA.dockerManifestList)) {
    const index = JSON.parse(top.bytes.toString('utf8')) as ImageIndex;
    const chosen = index.manifests.find((m) => samePlatform(m.platform, options.platform!));
    if (chosen === undefined) {
      const have = index.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}` : m.digest)).join(', ');
      throw new StrataError('MANIFEST_UNKNOWN', `${formatReference(ref)} has no ${options.platform.os}/${options.platform.architecture} image (it has ${have})`);
    }
    top = await fetchManifest(client, ref, chosen.digest);
  }
  const layers: Descriptor[] = [];
  const visit = async (bytes: Buffer, d: Descriptor) => {
    blobs.set(d.digest, { kind: 'bytes', bytes });
    progress({ kind: 'manifest', digest: d.digest, size: d.size });
    const doc = JSON.parse(bytes.toString('utf8')) as ImageManifest & ImageIndex;
    if (Array.isArray(doc.manifests)) {
      for (const m of doc.manifests) {
        const child = await fetchManifest(client, ref, m.digest);
        await visit(child.bytes, child.descriptor);
      }
    } else {
      if (doc.config === undefined) throw new StrataError('IMAGE_INVALID', `the manifest ${d.digest} has no config`);
      for (const b of [doc.config, ...(doc.layers ?? [])]) if (!layers.some((x) => x.digest === b.digest)) layers.push(b);
    }
  };
  await visit(top.bytes, top.descriptor);
  let bytes = 0;
  await mapConcurrent(layers, options.concurrency ?? 3, async (d) => {
    if (!/^sha256:[0-9a-f]{64}$/.test(d.digest)) throw new StrataError('IMAGE_INVALID', `strata pulls sha256 blobs only, not ${d.digest}`);
    const target = join(scratch, d.digest.slice(7));
    const have = await stat(target).catch(() => undefined);
    if (have?.size === d.size) progress({ kind: 'blob', digest: d.digest, size: d.size, cached: true });
    else {
      await fetchBlob(client, ref.repository, d, target);
      progress({ kind: 'blob', digest: d.digest, size: d.size });
    }
    bytes += d.size;
    blobs.set(d.digest, { kind: 'file', path: target, size: d.size });
  });
  const tag = options.tag ?? ref.tag ?? 'latest';
  await writeOciLayout(options.dir, { root: top.descriptor, blobs, platforms: [] }, tag);
  await rm(scratch, { recursive: true, force: true });
  return { dir: options.dir, digest: top.descriptor.digest, mediaType: top.descriptor.mediaType, reference: formatReference(ref), blobs: blobs.size, bytes };
}

/** Whether the registry has the manifest (HEAD); for checks that need no body. */
export async function hasManifest(client: RegistryClient, ref: ImageReference): Promise<boolean> {
  const res = await client.fetch({ method: 'HEAD', path: `/v2/${ref.repository}/manifests/${manifestReference(ref)}`, headers: { Accept: MANIFEST_ACCEPT } }, [repositoryScope(ref.repository, ['pull'])]);
  await drain(res);
  return res.status === 200;
}
