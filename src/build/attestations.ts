// Owns the evidence that goes with an image: per platform an SPDX 2.3 and a CycloneDX 1.6
// SBOM, and one in-toto/SLSA provenance statement for the image as a whole, each serialised
// as canonical JSON and wrapped in an OCI artifact whose subject is the platform's manifest
// (the SBOMs) or the image's root (the provenance). `attach` returns the image with those
// artifacts added, so a layout lists them in index.json and a push sends them as referrers.
import { canonicalJson } from '../digest/canonical-json.js';
import { GZIP_IDENTITY } from '../archive/gzip-chunked.js';
import type { Lockfile } from '../debian/lockfile.js';
import { artifactFor, type Artifact } from '../image/artifact.js';
import { rfc3339, type Descriptor } from '../image/oci.js';
import type { BuiltImage } from '../image/layout.js';
import { cyclonedxBom, CYCLONEDX_MEDIA_TYPE } from '../sbom/cyclonedx.js';
import type { SbomInput } from '../sbom/input.js';
import { IN_TOTO_MEDIA_TYPE, provenanceStatement, SLSA_PROVENANCE_V1 } from '../sbom/provenance.js';
import { spdxDocument, SPDX_MEDIA_TYPE } from '../sbom/spdx.js';
import { STRATA_VERSION } from '../version.js';
import type { BuildResult } from './build.js';

export interface EvidenceDocument {
  kind: 'spdx' | 'cyclonedx' | 'provenance';
  /** The platform an SBOM describes; absent for the provenance (it covers the image). */
  architecture?: string;
  /** File name suffix when written beside the image: `spdx.json`, `cdx.json`, `provenance.json`. */
  suffix: string;
  mediaType: string;
  bytes: Buffer;
  artifact: Artifact;
}

export interface EvidenceOptions {
  /** The image's name (the spec's file name without extension). */
  name: string;
  specName: string;
  builderId?: string;
}

export function buildEvidence(lock: Lockfile, result: BuildResult, options: EvidenceOptions): EvidenceDocument[] {
  const input: SbomInput = { name: options.name, lock, lockDigest: result.lockDigest, epoch: result.epoch, strataVersion: STRATA_VERSION };
  const created = { 'org.opencontainers.image.created': rfc3339(result.epoch) };
  const docs: EvidenceDocument[] = [];
  for (const p of result.platforms) {
    const subject: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: p.manifestDigest, size: sizeOfBlob(result.image, p.manifestDigest) };
    const platform = { architecture: p.architecture, manifestDigest: p.manifestDigest, packages: lock.architectures[p.architecture]!.packages, licenses: p.licenses };
    const spdx = Buffer.from(canonicalJson(spdxDocument(input, platform)));
    const cdx = Buffer.from(canonicalJson(cyclonedxBom(input, platform)));
    docs.push({ kind: 'spdx', architecture: p.architecture, suffix: 'spdx.json', mediaType: SPDX_MEDIA_TYPE, bytes: spdx, artifact: artifactFor(subject, spdx, SPDX_MEDIA_TYPE, created) });
    docs.push({ kind: 'cyclonedx', architecture: p.architecture, suffix: 'cdx.json', mediaType: CYCLONEDX_MEDIA_TYPE, bytes: cdx, artifact: artifactFor(subject, cdx, CYCLONEDX_MEDIA_TYPE, created) });
  }
  const statement = provenanceStatement({
    ...input,
    imageDigest: result.digest,
    specName: options.specName,
    architectures: result.platforms.map((p) => p.architecture),
    platforms: result.platforms.map((p) => ({ architecture: p.architecture, manifestDigest: p.manifestDigest })),
    compressor: GZIP_IDENTITY,
    ...(options.builderId !== undefined ? { builderId: options.builderId } : {}),
  });
  const prov = Buffer.from(canonicalJson(statement));
  docs.push({
    kind: 'provenance',
    suffix: 'provenance.json',
    mediaType: IN_TOTO_MEDIA_TYPE,
    bytes: prov,
    artifact: artifactFor(result.image.root, prov, IN_TOTO_MEDIA_TYPE, { ...created, 'in-toto.io/predicate-type': SLSA_PROVENANCE_V1 }),
  });
  return docs;
}

function sizeOfBlob(image: BuiltImage, digest: string): number {
  const b = image.blobs.get(digest);
  if (b === undefined) throw new Error(`internal: the manifest ${digest} is not among the image's blobs`);
  return b.kind === 'bytes' ? b.bytes.length : b.size;
}

/** The image with the documents' artifacts added (blobs and referrers). */
export function attachEvidence(image: BuiltImage, docs: EvidenceDocument[]): BuiltImage {
  const blobs = new Map(image.blobs);
  const referrers = [...(image.referrers ?? [])];
  for (const d of docs) {
    for (const [digest, bytes] of d.artifact.blobs) blobs.set(digest, { kind: 'bytes', bytes });
    referrers.push(d.artifact.descriptor);
  }
  return { ...image, blobs, referrers };
}
