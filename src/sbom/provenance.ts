// Owns the build's provenance: an in-toto Statement v1 whose predicate is SLSA Provenance v1
// (https://slsa.dev/provenance/v1). It names the image (subject: the manifest or index
// digest), the spec and its sha256, the lockfile's digest, every resolved input (each signed
// InRelease and each .deb, by sha256), strata's version and the builder. It holds no
// wall-clock time (no startedOn/finishedOn, no invocation id), so a rebuild from the same
// lock yields the same statement, byte for byte.
import { debPurl, distroOf, vendorOf, type SbomInput } from './input.js';

export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const STRATA_BUILD_TYPE = 'urn:dev.strata:build-type:image:v1';
export const DEFAULT_BUILDER_ID = 'urn:dev.strata:builder:cli';

export interface ProvenanceInput extends SbomInput {
  /** The image's identity: manifest (one platform) or index digest. */
  imageDigest: string;
  /** The spec file's name as given, and the platforms built. */
  specName: string;
  architectures: string[];
  platforms: Array<{ architecture: string; manifestDigest: string }>;
  /** The compressor identity recorded in the manifest (dev.strata.compressor). */
  compressor: string;
  builderId?: string;
}

export function provenanceStatement(input: ProvenanceInput): Record<string, unknown> {
  const vendor = vendorOf(input.lock);
  const distro = distroOf(input.lock);
  const resolved: Array<Record<string, unknown>> = [
    { name: `lockfile ${input.name}.lock.json`, digest: { sha256: input.lockDigest.replace(/^sha256:/, '') } },
    ...input.lock.suites.map((s) => ({ name: `InRelease of ${s.suite}`, digest: { sha256: s.inRelease.sha256 }, annotations: { signedBy: s.signedBy.join(' '), date: s.date } })),
  ];
  for (const arch of [...input.architectures].sort()) {
    const closure = input.lock.architectures[arch];
    if (closure === undefined) continue;
    for (const p of [...closure.packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      resolved.push({ uri: debPurl(p, vendor, distro), name: p.filename, digest: { sha256: p.sha256 } });
    }
  }
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: input.name, digest: { sha256: input.imageDigest.replace(/^sha256:/, '') } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: STRATA_BUILD_TYPE,
        externalParameters: {
          spec: { name: input.specName, sha256: input.lock.spec.sha256 },
          architectures: [...input.architectures].sort(),
        },
        internalParameters: {
          epoch: input.epoch,
          compressor: input.compressor,
        },
        resolvedDependencies: resolved,
      },
      runDetails: {
        builder: { id: input.builderId ?? DEFAULT_BUILDER_ID, version: { strata: input.strataVersion } },
        metadata: {},
        byproducts: input.platforms.map((p) => ({ name: `manifest ${p.architecture}`, digest: { sha256: p.manifestDigest.replace(/^sha256:/, '') } })),
      },
    },
  };
}
