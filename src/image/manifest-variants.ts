// Owns the other forms of one image that a registry offers for content negotiation: the same
// config and layers described as a Docker schema 2 manifest, and each manifest wrapped in a
// one-platform index (OCI index, Docker manifest list) for clients that ask only for lists.
// Every form is canonical JSON, so each has one stable digest; the layer and config blobs are
// the same bytes in all of them.
import { StrataError } from '../errors.js';
import { MEDIA, jsonBlob, type Descriptor, type ImageIndex, type ImageManifest, type JsonBlob, type Platform } from './oci.js';

export interface ManifestVariants {
  /** The OCI manifest itself (the image's identity). */
  oci: JsonBlob;
  docker: JsonBlob;
  ociIndex: JsonBlob;
  dockerList: JsonBlob;
}

/** The Docker schema 2 form: the same blobs under Docker's media types, no annotations. */
export function dockerManifestOf(manifest: ImageManifest): JsonBlob {
  const layerType = (t: string) => (t === MEDIA.layerGzip ? MEDIA.dockerLayerGzip : t);
  const docker = {
    schemaVersion: 2,
    mediaType: MEDIA.dockerManifest,
    config: { mediaType: MEDIA.dockerConfig, digest: manifest.config.digest, size: manifest.config.size },
    layers: manifest.layers.map((l) => ({ mediaType: layerType(l.mediaType), digest: l.digest, size: l.size })),
  };
  return jsonBlob(docker, MEDIA.dockerManifest);
}

function listOf(manifest: Descriptor, platform: Platform, mediaType: string): JsonBlob {
  const index: ImageIndex = { schemaVersion: 2, mediaType, manifests: [{ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, platform }] };
  return jsonBlob(index, mediaType);
}

export function manifestVariants(manifestBytes: Buffer, manifest: ImageManifest, platform: Platform): ManifestVariants {
  const oci = jsonBlob(manifest, MEDIA.manifest);
  if (!oci.bytes.equals(manifestBytes)) throw new StrataError('INTERNAL', 'the manifest bytes are not its canonical JSON');
  const docker = dockerManifestOf(manifest);
  return {
    oci,
    docker,
    ociIndex: listOf(oci.descriptor, platform, MEDIA.index),
    dockerList: listOf(docker.descriptor, platform, MEDIA.dockerManifestList),
  };
}
