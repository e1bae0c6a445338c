// Owns the read-only model of an image that someone else stored: the selected root (an
// index or a manifest), each platform's manifest, config and layers, with every JSON
// document kept as its stored bytes beside its parsed value. Backends (layout-reader.ts for
// directories and archives; a registry client later) only provide blob access by digest;
// readOciImage turns that into the model. Nothing here trusts a digest: each JSON document
// records the digest of the bytes actually read, and layer bytes are hashed by whoever
// streams them, so a tampered image is reported rather than believed.
import { StrataError } from '../errors.js';
import { sha256Hex } from '../digest/sha256.js';
import { MEDIA, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from './oci.js';

export type ImageFormat = 'oci-layout' | 'oci-archive' | 'docker-archive' | 'registry';

/** Blob access by digest: what a backend provides. */
export interface BlobReader {
  /** The whole blob (JSON documents); throws IMAGE_INVALID when the blob is missing. */
  read(digest: string): Promise<Buffer>;
  /** The blob as a stream (layers). */
  open(digest: string): AsyncIterable<Buffer>;
}

/** A JSON document as stored, its parsed value, and the digest its bytes really have. */
export interface JsonDocument<T> {
  /** The digest the referrer claims (the descriptor's, or manifest.json's config name). */
  digest: string;
  /** sha256 of the bytes read: differs from `digest` only when the store was tampered with. */
  actualDigest: string;
  bytes: Buffer;
  value: T;
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

export interface ImageLayer {
  /** Position in the manifest (0 = lowest layer). */
  index: number;
  /** The DiffID the config records for this layer. */
  diffId: string;
  mediaType: string;
  compression: LayerCompression;
  /** The stored blob's digest and size as the manifest claims them; absent in a docker-archive (layers stored as tars). */
  digest?: string;
  size?: number;
  annotations?: Record<string, string>;
  /** The stored bytes (compressed for OCI layouts, the tar itself for a docker-archive). */
  open(): AsyncIterable<Buffer>;
}

export interface PlatformImage {
  /** os/architecture[/variant], from the index entry or the config. */
  platform: string;
  /** Absent in a docker-archive, which stores no manifest. */
  manifest?: JsonDocument<ImageManifest>;
  config: JsonDocument<ImageConfig>;
  layers: ImageLayer[];
}

export interface OpenedImage {
  /** What the user named, for messages: "OCI layout python.oci (tag latest)". */
  label: string;
  format: ImageFormat;
  /** The descriptor the reference selected; absent in a docker-archive. */
  root?: Descriptor;
  /** The image index, when the root is one (several platforms). */
  index?: JsonDocument<ImageIndex>;
  platforms: PlatformImage[];
  /** The image's identity: the root digest, or the config digest for a docker-archive. */
  digest: string;
  /** The layout's own index.json as stored (OCI layouts and oci-archives). */
  layoutIndex?: Buffer;
  close(): Promise<void>;
}

function invalid(label: string, why: string): never {
  throw new StrataError('IMAGE_INVALID', `${label}: ${why}`, { hint: 'the image is incomplete or was not written by an OCI tool; rebuild or re-copy it' });
}

export async function readJsonDocument<T>(label: string, what: string, digest: string, read: () => Promise<Buffer>): Promise<JsonDocument<T>> {
  const bytes = await read();
  let value: T;
  try {
    value = JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    invalid(label, `${what} ${digest} is not JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null) invalid(label, `${what} ${digest} is not a JSON object`);
  return { digest, actualDigest: `sha256:${sha256Hex(bytes)}`, bytes, value };
}

export function compressionOf(mediaType: string): LayerCompression {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return 'zstd';
  return 'none';
}

export function platformString(p: { os?: string; architecture?: string; variant?: string } | undefined): string {
  if (p === undefined) return 'unknown';
  return [p.os ?? 'unknown', p.architecture ?? 'unknown', ...(p.variant ? [p.variant] : [])].join('/');
}

const isIndex = (mediaType: string | undefined) => mediaType === MEDIA.index || mediaType === MEDIA.dockerManifestList;

async function readPlatform(label: string, blobs: BlobReader, descriptor: Descriptor): Promise<PlatformImage> {
  const manifest = await readJsonDocument<ImageManifest>(label, 'manifest', descriptor.digest, () => blobs.read(descriptor.digest));
  const m = manifest.value;
  if (typeof m.config?.digest !== 'string' || !Array.isArray(m.layers)) invalid(label, `manifest ${descriptor.digest} has no config or layers`);
  const config = await readJsonDocument<ImageConfig>(label, 'config', m.config.digest, () => blobs.read(m.config.digest));
  const diffIds = config.value.rootfs?.diff_ids ?? [];
  if (diffIds.length !== m.layers.length) invalid(label, `config ${m.config.digest} lists ${diffIds.length} DiffIDs for ${m.layers.length} layers`);
  const layers = m.layers.map((d, i): ImageLayer => {
    const layer: ImageLayer = { index: i, diffId: diffIds[i]!, mediaType: d.mediaType, compression: compressionOf(d.mediaType), digest: d.digest, size: d.size, open: () => blobs.open(d.digest) };
    if (d.annotations !== undefined) layer.annotations = d.annotations;
    return layer;
  });
  const platform = descriptor.platform ?? { os: config.value.os, architecture: config.value.architecture, ...(config.value.variant ? { variant: config.value.variant } : {}) };
  return { platform: platformString(platform), manifest, config, layers };
}

/** Reads the image a root descriptor names from an OCI blob store (layout, archive, registry). */
export async function readOciImage(label: string, format: ImageFormat, root: Descriptor, blobs: BlobReader, close: () => Promise<void>): Promise<OpenedImage> {
  if (isIndex(root.mediaType)) {
    const index = await readJsonDocument<ImageIndex>(label, 'index', root.digest, () => blobs.read(root.digest));
    if (!Array.isArray(index.value.manifests)) invalid(label, `index ${root.digest} has no manifests`);
    const platforms: PlatformImage[] = [];
    for (const d of index.value.manifests) {
      if (isIndex(d.mediaType)) invalid(label, `index ${root.digest} nests another index, which strata does not read`);
      platforms.push(await readPlatform(label, blobs, d));
    }
    return { label, format, root, index, platforms, digest: root.digest, close };
  }
  return { label, format, root, platforms: [await readPlatform(label, blobs, root)], digest: root.digest, close };
}
