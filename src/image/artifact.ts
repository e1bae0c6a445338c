// Owns OCI artifacts that refer to an image (image-spec v1.1 "artifacts" guidance): a
// manifest whose config is the empty descriptor, whose one layer is the document (an SBOM, a
// provenance statement), with `artifactType` naming what it is and `subject` pointing at the
// image's manifest — what registries list under the referrers API. Pure; canonical bytes.
import { jsonBlob, MEDIA, type Descriptor, type ImageManifest } from './oci.js';
import { sha256Hex } from '../digest/sha256.js';

export const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
export const EMPTY_BLOB = Buffer.from('{}');
export const EMPTY_DESCRIPTOR: Descriptor = { mediaType: EMPTY_MEDIA_TYPE, digest: `sha256:${sha256Hex(EMPTY_BLOB)}`, size: 2 };

export interface Artifact {
  /** The artifact manifest's descriptor, with artifactType (as index.json and referrers list it). */
  descriptor: Descriptor & { artifactType: string };
  /** The manifest, the payload and the empty config, by digest. */
  blobs: Map<string, Buffer>;
}

export function artifactFor(subject: Descriptor, payload: Buffer, mediaType: string, annotations: Record<string, string> = {}): Artifact {
  const layer: Descriptor = { mediaType, digest: `sha256:${sha256Hex(payload)}`, size: payload.length };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    artifactType: mediaType,
    config: EMPTY_DESCRIPTOR,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const blob = jsonBlob(manifest, MEDIA.manifest);
  const blobs = new Map<string, Buffer>([
    [blob.descriptor.digest, blob.bytes],
    [layer.digest, payload],
    [EMPTY_DESCRIPTOR.digest, EMPTY_BLOB],
  ]);
  return { descriptor: { ...blob.descriptor, artifactType: mediaType }, blobs };
}
