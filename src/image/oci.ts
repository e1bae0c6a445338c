// Owns the OCI image model (image-spec v1.1): media types, descriptors, config, manifest and
// index, and their canonical serialisation. Plain data; every JSON blob strata writes goes
// through canonicalJson, so equal values are equal bytes.
import { canonicalJson } from '../digest/canonical-json.js';
import { sha256Hex } from '../digest/sha256.js';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const ANNOTATION = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  lockDigest: 'dev.strata.lock.digest',
  compressor: 'dev.strata.compressor',
  version: 'dev.strata.version',
  packages: 'dev.strata.layer.packages',
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  /** Of an artifact manifest, in index.json and referrers lists. */
  artifactType?: string;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
    Volumes?: Record<string, Record<string, never>>;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: Array<{ created: string; created_by: string; comment?: string; empty_layer?: boolean }>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
  artifactType?: string;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** A serialised JSON blob with its descriptor. */
export interface JsonBlob {
  bytes: Buffer;
  descriptor: Descriptor;
}

export function jsonBlob(value: unknown, mediaType: string): JsonBlob {
  const bytes = Buffer.from(canonicalJson(value), 'utf8');
  return { bytes, descriptor: { mediaType, digest: `sha256:${sha256Hex(bytes)}`, size: bytes.length } };
}

/** Debian architecture → OCI platform (image-spec's Go GOARCH names and variants). */
export function platformOf(debianArch: string): Platform {
  switch (debianArch) {
    case 'amd64':
      return { architecture: 'amd64', os: 'linux' };
    case 'arm64':
      return { architecture: 'arm64', os: 'linux', variant: 'v8' };
    case 'armhf':
      return { architecture: 'arm', os: 'linux', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', os: 'linux', variant: 'v5' };
    case 'i386':
      return { architecture: '386', os: 'linux' };
    case 'ppc64el':
      return { architecture: 'ppc64le', os: 'linux' };
    case 's390x':
      return { architecture: 's390x', os: 'linux' };
    case 'mips64el':
      return { architecture: 'mips64le', os: 'linux' };
    case 'riscv64':
      return { architecture: 'riscv64', os: 'linux' };
    default:
      return { architecture: debianArch, os: 'linux' };
  }
}

/** Seconds since the epoch → RFC 3339 UTC, second precision (what `created` holds). */
export function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
