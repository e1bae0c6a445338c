// Owns what an SBOM or a provenance statement is made of, and the identifiers they share:
// the locked closure of one platform (packages pinned by the sha256 of their .deb, with their
// resolved dependency edges), the licences read from each package's copyright file, the
// image they describe, and the build's epoch. All of it comes from the lockfile and the
// .debs it pins, so the documents are as reproducible as the image. Pure.
import { sha256Hex } from '../digest/sha256.js';
import type { LockedPackage, Lockfile } from '../debian/lockfile.js';
import type { CopyrightLicenses } from '../debian/copyright.js';

export interface SbomPlatform {
  /** Debian architecture. */
  architecture: string;
  /** The manifest of this platform (the artifacts' subject). */
  manifestDigest: string;
  packages: LockedPackage[];
  /** Package name → licences from its copyright file (absent: no copyright file). */
  licenses: Record<string, CopyrightLicenses | undefined>;
}

export interface SbomInput {
  /** The image's name (the spec's name). */
  name: string;
  lock: Lockfile;
  /** sha256:… of the lockfile's canonical form. */
  lockDigest: string;
  /** The build's epoch: the documents' only timestamp. */
  epoch: number;
  strataVersion: string;
}

/** `debian-12` from the suites' Origin and Version (`strata-test-1` for the test archive). */
export function distroOf(lock: Lockfile): string {
  const s = lock.suites.find((x) => /^[0-9]+/.test(x.version)) ?? lock.suites[0];
  if (s === undefined) return 'debian';
  const vendor = (s.origin || 'debian').toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
  const major = /^([0-9]+)/.exec(s.version)?.[1];
  return major !== undefined ? `${vendor}-${major}` : `${vendor}-${s.codename}`;
}

/** The namespace part of a deb PURL: the archive's Origin, lower-cased (`debian`). */
export function vendorOf(lock: Lockfile): string {
  return (lock.suites[0]?.origin || 'debian').toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
}

const encode = (s: string) => encodeURIComponent(s).replace(/%2B/g, '+');

/** `pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12` (purl-spec, type deb). */
export function debPurl(pkg: Pick<LockedPackage, 'name' | 'version' | 'architecture'>, vendor: string, distro: string): string {
  return `pkg:deb/${vendor}/${encode(pkg.name)}@${encode(pkg.version)}?arch=${encode(pkg.architecture)}&distro=${encode(distro)}`;
}

/** `pkg:oci/NAME@sha256%3A…?arch=…` for the image itself. */
export function ociPurl(name: string, digest: string, architecture: string): string {
  return `pkg:oci/${encode(name.toLowerCase())}@${encodeURIComponent(digest)}?arch=${encode(architecture)}`;
}

/** A version-5-shaped UUID derived from a digest (CycloneDX serial numbers need a UUID). */
export function uuidFrom(text: string): string {
  const h = sha256Hex(text).slice(0, 32).split('');
  h[12] = '5';
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** SPDX element IDs allow letters, digits, "." and "-". */
export function spdxId(kind: string, name: string, architecture?: string): string {
  return `SPDXRef-${kind}-${name.replace(/[^A-Za-z0-9.-]+/g, '-')}${architecture !== undefined ? `-${architecture}` : ''}`;
}

/** Packages sorted by name (byte order), the order every document lists them in. */
export function sortedPackages(packages: LockedPackage[]): LockedPackage[] {
  return [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
