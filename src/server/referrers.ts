// Owns the referrers of an image (distribution-spec v1.1 "Listing Referrers"): artifacts — an
// SBOM, a provenance statement, a signature — whose manifest names the image as its `subject`.
// `attachArtifact` puts such a manifest (and the blobs it names must already be in the store)
// into the store and indexes it under its subject; the registry lists them as an OCI index,
// filtered by artifactType when asked. An image without referrers has an empty index.
import { StrataError } from '../errors.js';
import { canonicalJson } from '../digest/canonical-json.js';
import { sha256Hex } from '../digest/sha256.js';
import { MEDIA, type Descriptor, type ImageIndex } from '../image/oci.js';
import { digestHex, readJsonRecord, type BlobStore } from '../store/blob-store.js';

interface ArtifactManifest {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Stores an artifact manifest that has a subject; returns its descriptor as listed. */
export async function attachArtifact(store: BlobStore, bytes: Buffer): Promise<Descriptor & { artifactType: string }> {
  let m: ArtifactManifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as ArtifactManifest;
  } catch (e) {
    throw new StrataError('USAGE', `the artifact manifest is not JSON: ${(e as Error).message}`);
  }
  if (m.subject?.digest === undefined) throw new StrataError('USAGE', 'the artifact manifest has no subject: it refers to no image');
  const subjectHex = digestHex(m.subject.digest);
  const mediaType = m.mediaType ?? MEDIA.manifest;
  if (mediaType !== MEDIA.manifest && mediaType !== MEDIA.index) throw new StrataError('USAGE', `an artifact is an OCI manifest or index, not ${mediaType}`);
  for (const d of [...(m.config ? [m.config] : []), ...(m.layers ?? [])]) {
    if ((await store.stat(d.digest)) === undefined) throw new StrataError('BLOB_UNKNOWN', `the artifact names ${d.digest}, which the store does not hold; store its blobs first`);
  }
  const digest = `sha256:${sha256Hex(bytes)}`;
  const descriptor: Descriptor & { artifactType: string } = {
    mediaType,
    digest,
    size: bytes.length,
    artifactType: m.artifactType ?? m.config?.mediaType ?? 'application/vnd.oci.image.config.v1+json',
  };
  if (m.annotations !== undefined && Object.keys(m.annotations).length > 0) descriptor.annotations = m.annotations;
  await store.write(digest, bytes, bytes.length);
  await store.writeRecord(`manifests/${digest.slice(7)}`, Buffer.from(canonicalJson({ mediaType, size: bytes.length })));
  await store.writeRecord(`referrers/${subjectHex}/${digest.slice(7)}`, Buffer.from(canonicalJson(descriptor)));
  return descriptor;
}

/** The referrers index of a subject, in digest order; `filtered` when artifactType applied. */
export async function referrersIndex(store: BlobStore, subject: string, artifactType?: string): Promise<{ bytes: Buffer; filtered: boolean }> {
  const hex = digestHex(subject);
  const manifests: Descriptor[] = [];
  for (const key of await store.listRecords(`referrers/${hex}/`)) {
    const d = await readJsonRecord<Descriptor & { artifactType?: string }>(store, key);
    if (d !== undefined && (artifactType === undefined || d.artifactType === artifactType)) manifests.push(d);
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA.index, manifests };
  return { bytes: Buffer.from(canonicalJson(index)), filtered: artifactType !== undefined };
}
