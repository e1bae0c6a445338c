// Owns the CycloneDX 1.6 JSON SBOM of one platform of an image: the image as the metadata
// component (type container), every Debian package as a component with its PURL (also its
// bom-ref), the sha256 of its .deb, its licences (SPDX ids, or one SPDX expression when a
// name has no id) and its source package, and the dependency graph of the lock. The serial
// number is a UUID derived from the manifest digest and the timestamp is the build's epoch,
// so the same image always has the same SBOM bytes.
import { rfc3339 } from '../image/oci.js';
import { combineLicenses } from './license.js';
import { debPurl, distroOf, ociPurl, sortedPackages, uuidFrom, vendorOf, type SbomInput, type SbomPlatform } from './input.js';

export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

function licensesOf(platform: SbomPlatform, name: string): Array<Record<string, unknown>> | undefined {
  const lic = platform.licenses[name];
  if (lic === undefined || !lic.machineReadable) return undefined;
  const combined = combineLicenses(lic.licenses);
  if (combined.expression === undefined) return undefined;
  // A list of ids when every part is a plain SPDX id joined by AND; else one expression.
  if (combined.ids.every((i) => i.known) && !/ OR /.test(combined.expression)) {
    return combined.ids.map((i) => ({ license: { id: i.id } }));
  }
  return [{ expression: combined.expression }];
}

export function cyclonedxBom(input: SbomInput, platform: SbomPlatform): Record<string, unknown> {
  const vendor = vendorOf(input.lock);
  const distro = distroOf(input.lock);
  const arch = platform.architecture;
  const imageRef = ociPurl(input.name, platform.manifestDigest, arch);
  const sorted = sortedPackages(platform.packages);
  const purlOf = new Map(sorted.map((p) => [p.name, debPurl(p, vendor, distro)]));
  const components = sorted.map((p) => {
    const c: Record<string, unknown> = {
      type: 'library',
      'bom-ref': purlOf.get(p.name)!,
      name: p.name,
      version: p.version,
      purl: purlOf.get(p.name)!,
      hashes: [{ alg: 'SHA-256', content: p.sha256 }],
      properties: [
        { name: 'dev.strata:debian:architecture', value: p.architecture },
        { name: 'dev.strata:debian:filename', value: p.filename },
        { name: 'dev.strata:debian:source', value: p.source },
        { name: 'dev.strata:debian:source-version', value: p.sourceVersion },
        { name: 'dev.strata:debian:suite', value: p.suite },
      ],
    };
    const licenses = licensesOf(platform, p.name);
    if (licenses !== undefined) c.licenses = licenses;
    return c;
  });
  const requested = sorted.filter((p) => p.requested === true).map((p) => purlOf.get(p.name)!);
  const dependencies = [
    { ref: imageRef, dependsOn: requested },
    ...sorted.map((p) => ({ ref: purlOf.get(p.name)!, dependsOn: [...p.depends].sort().map((d) => purlOf.get(d)!).filter((x) => x !== undefined) })),
  ];
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${uuidFrom(`cyclonedx:${platform.manifestDigest}`)}`,
    version: 1,
    metadata: {
      timestamp: rfc3339(input.epoch),
      tools: { components: [{ type: 'application', name: 'strata', version: input.strataVersion }] },
      component: {
        type: 'container',
        'bom-ref': imageRef,
        name: input.name,
        version: platform.manifestDigest,
        purl: imageRef,
        hashes: [{ alg: 'SHA-256', content: platform.manifestDigest.replace(/^sha256:/, '') }],
      },
      properties: [
        { name: 'dev.strata:lock-digest', value: input.lockDigest },
        { name: 'dev.strata:architecture', value: arch },
      ],
    },
    components,
    dependencies,
  };
}
