// Owns the package view of an image or a lockfile, and the package diff between two: added,
// removed, upgraded or downgraded (dpkg's version order), or rebuilt (same version, another
// .deb), each with its source package. An image's packages come from dpkg's database in it:
// strata's /var/lib/dpkg/status.d/<package> stanzas (the distroless layout), or a classic
// /var/lib/dpkg/status with only the installed stanzas.
import { parseDeb822, type Stanza } from '../debian/deb822.js';
import type { Lockfile } from '../debian/lockfile.js';
import { compareVersions } from '../debian/version.js';
import { mergeUsr } from '../debian/merged-usr.js';

export interface PackageRecord {
  name: string;
  version: string;
  architecture: string;
  source: string;
  sourceVersion: string;
  /** The .deb's sha256 (lockfiles only). */
  sha256?: string;
}

export interface PackageChange {
  name: string;
  architecture: string;
  kind: 'added' | 'removed' | 'upgraded' | 'downgraded' | 'rebuilt';
  from?: string;
  to?: string;
  source: string;
  /** When the source package changed too (a package moving between sources). */
  sourceFrom?: string;
}

/** Paths whose content the package view needs. */
export function isPackageDatabase(path: string): boolean {
  return path === 'var/lib/dpkg/status' || path.startsWith('var/lib/dpkg/status.d/') || (path.startsWith('var/lib/dpkg/info/') && (path.endsWith('.list') || path.endsWith('.md5sums')));
}

function record(s: Stanza): PackageRecord | undefined {
  const name = s.get('package');
  const version = s.get('version');
  if (name === undefined || version === undefined) return undefined;
  const status = s.get('status');
  if (status !== undefined && !/\binstalled$/.test(status.trim())) return undefined;
  const m = /^(\S+)(?:\s+\(([^)]+)\))?/.exec(s.get('source') ?? '');
  return { name, version, architecture: s.get('architecture') ?? 'unknown', source: m?.[1] ?? name, sourceVersion: m?.[2] ?? version };
}

/** Packages from dpkg database files (path → text); unparsable files are skipped. */
export function packagesOfDatabase(files: ReadonlyMap<string, string>): PackageRecord[] {
  const out = new Map<string, PackageRecord>();
  for (const [path, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (path !== 'var/lib/dpkg/status' && !(path.startsWith('var/lib/dpkg/status.d/') && !path.endsWith('.md5sums'))) continue;
    let stanzas: Stanza[];
    try {
      stanzas = parseDeb822(text, { source: path });
    } catch {
      continue;
    }
    for (const s of stanzas) {
      const r = record(s);
      if (r !== undefined) out.set(`${r.name}:${r.architecture}`, r);
    }
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.architecture < b.architecture ? -1 : 1));
}

/** Which package owns each path, from md5sums (strata's status.d, dpkg's info/) and dpkg's .list files. */
export function ownersOfDatabase(files: ReadonlyMap<string, string>): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [path, text] of files) {
    const sums = /^var\/lib\/dpkg\/(?:status\.d|info)\/([^/]+?)(?::[a-z0-9]+)?\.md5sums$/.exec(path);
    const list = /^var\/lib\/dpkg\/info\/([^/]+?)(?::[a-z0-9]+)?\.list$/.exec(path);
    const status = /^var\/lib\/dpkg\/status\.d\/([^/]+)$/.exec(path);
    if (status !== null && !path.endsWith('.md5sums')) owners.set(path, status[1]!);
    if (sums !== null) {
      owners.set(path, sums[1]!);
      for (const line of text.split('\n')) {
        const m = /^[0-9a-f]{32}\s+(.+)$/.exec(line.trim());
        if (m === null) continue;
        // md5sums keep the .deb's paths; on a merged-/usr image lib/x lives at usr/lib/x.
        const p = m[1]!.replace(/^\.?\//, '');
        owners.set(p, sums[1]!);
        owners.set(mergeUsr(p), sums[1]!);
      }
    }
    if (list !== null) {
      for (const line of text.split('\n')) {
        const p = line.trim().replace(/^\/+/, '');
        if (p !== '' && p !== '.') {
          owners.set(p, list[1]!);
          owners.set(mergeUsr(p), list[1]!);
        }
      }
    }
  }
  return owners;
}

export function packagesOfLock(lock: Lockfile, architecture: string): PackageRecord[] {
  return (lock.architectures[architecture]?.packages ?? []).map((p) => ({ name: p.name, version: p.version, architecture: p.architecture, source: p.source, sourceVersion: p.sourceVersion, sha256: p.sha256 }));
}

/** The changes from a to b, by package name and architecture, in name order. */
export function diffPackages(a: readonly PackageRecord[], b: readonly PackageRecord[]): PackageChange[] {
  const key = (p: PackageRecord) => `${p.name}\u0000${p.architecture}`;
  const ma = new Map(a.map((p) => [key(p), p]));
  const mb = new Map(b.map((p) => [key(p), p]));
  const out: PackageChange[] = [];
  for (const k of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const x = ma.get(k);
    const y = mb.get(k);
    if (x === undefined) out.push({ name: y!.name, architecture: y!.architecture, kind: 'added', to: y!.version, source: y!.source });
    else if (y === undefined) out.push({ name: x.name, architecture: x.architecture, kind: 'removed', from: x.version, source: x.source });
    else if (x.version !== y.version) {
      const c: PackageChange = { name: x.name, architecture: x.architecture, kind: compareVersions(x.version, y.version) < 0 ? 'upgraded' : 'downgraded', from: x.version, to: y.version, source: y.source };
      if (x.source !== y.source) c.sourceFrom = x.source;
      out.push(c);
    } else if (x.sha256 !== undefined && y.sha256 !== undefined && x.sha256 !== y.sha256) {
      out.push({ name: x.name, architecture: x.architecture, kind: 'rebuilt', from: x.version, to: y.version, source: y.source });
    }
  }
  return out;
}

export function describeChange(c: PackageChange): string {
  switch (c.kind) {
    case 'added':
      return `${c.name} ${c.to} added`;
    case 'removed':
      return `${c.name} ${c.from} removed`;
    case 'rebuilt':
      return `${c.name} ${c.from}: another .deb of the same version`;
    default:
      return `${c.name} ${c.from} → ${c.to}`;
  }
}
