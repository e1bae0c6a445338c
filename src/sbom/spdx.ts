// Owns the SPDX 2.3 JSON SBOM of one platform of an image: the image as a container package
// (DESCRIBES), every Debian package of the closure (CONTAINS) with its version, the sha256 of
// its .deb, its PURL, its source package and the licences its copyright file declares, and
// a DEPENDS_ON relationship for every resolved dependency edge of the lock. Deterministic:
// the only date is the build's epoch, the namespace is derived from the manifest digest,
// and every list is sorted.
import { rfc3339 } from '../image/oci.js';
import { combineLicenses } from './license.js';
import { debPurl, distroOf, ociPurl, sortedPackages, spdxId, uuidFrom, vendorOf, type SbomInput, type SbomPlatform } from './input.js';

export const SPDX_MEDIA_TYPE = 'application/spdx+json';

export function spdxDocument(input: SbomInput, platform: SbomPlatform): Record<string, unknown> {
  const vendor = vendorOf(input.lock);
  const distro = distroOf(input.lock);
  const arch = platform.architecture;
  const imageId = spdxId('Image', input.name, arch);
  const extracted = new Map<string, { licenseId: string; name: string; extractedText: string }>();
  const packages: Array<Record<string, unknown>> = [
    {
      SPDXID: imageId,
      name: input.name,
      versionInfo: platform.manifestDigest,
      primaryPackagePurpose: 'CONTAINER',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      checksums: [{ algorithm: 'SHA256', checksumValue: platform.manifestDigest.replace(/^sha256:/, '') }],
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(input.name, platform.manifestDigest, arch) }],
    },
  ];
  const relationships: Array<Record<string, string>> = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId }];
  const sorted = sortedPackages(platform.packages);
  for (const p of sorted) {
    const id = spdxId('Package', p.name, arch);
    const lic = platform.licenses[p.name];
    const combined = lic?.machineReadable ? combineLicenses(lic.licenses) : { expression: undefined, ids: [] };
    for (const i of combined.ids) {
      if (!i.known && !extracted.has(i.id)) {
        extracted.set(i.id, { licenseId: i.id, name: i.debian, extractedText: `The licence named "${i.debian}" in a Debian machine-readable copyright file (/usr/share/doc/PACKAGE/copyright).` });
      }
    }
    const pkg: Record<string, unknown> = {
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      primaryPackagePurpose: 'LIBRARY',
      supplier: 'NOASSERTION',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256 }],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: combined.expression ?? 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      sourceInfo: `built from the Debian source package ${p.source} ${p.sourceVersion}`,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: debPurl(p, vendor, distro) }],
      comment: `${p.filename} (${p.size} bytes) from ${p.suite}/${p.component}; architecture ${p.architecture}`,
    };
    packages.push(pkg);
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
    for (const d of [...p.depends].sort()) relationships.push({ spdxElementId: id, relationshipType: 'DEPENDS_ON', relatedSpdxElement: spdxId('Package', d, arch) });
  }
  const doc: Record<string, unknown> = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.name}-${arch}`,
    documentNamespace: `urn:uuid:${uuidFrom(`spdx:${platform.manifestDigest}`)}`,
    creationInfo: {
      created: rfc3339(input.epoch),
      creators: [`Tool: strata-${input.strataVersion}`],
      comment: `Made from the lockfile ${input.lockDigest}; the date is the build's epoch (SOURCE_DATE_EPOCH), not the time of writing.`,
    },
    packages,
    relationships,
  };
  if (extracted.size > 0) doc.hasExtractedLicensingInfos = [...extracted.values()].sort((a, b) => (a.licenseId < b.licenseId ? -1 : 1));
  return doc;
}
