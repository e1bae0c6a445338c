// Owns the whole-image checks that no single package can make: two packages shipping one
// path (allowed when identical, or when one Replaces the other, which then must come later),
// a path below another package's symlink, and files owned by IDs the image does not declare.
import { StrataError } from '../errors.js';
import { parseDeb822 } from '../debian/deb822.js';
import { parentDirs } from '../debian/merged-usr.js';
import { parseRelation } from '../debian/relation.js';
import type { PathFact } from './package-content.js';

export interface CheckedPackage {
  name: string;
  control: string;
  kept: PathFact[];
}

export interface PathOwner {
  package: string;
  fact: PathFact;
}

function replaces(control: string, name: string): string[] {
  const s = parseDeb822(control, { source: `${name} control`, errorCode: 'DEB_INVALID' })[0];
  return parseRelation(s?.get('replaces'), `${name} Replaces`).flat().map((a) => a.name);
}

function same(a: PathFact, b: PathFact): boolean {
  return a.type === b.type && a.sha256 === b.sha256 && a.linkname === b.linkname && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

/**
 * Returns, for each path, the package whose entry the image shows, and the order constraints
 * (replaced → replacer) that the layer order must respect.
 */
export function checkPaths(packages: CheckedPackage[]): { owners: Map<string, PathOwner>; after: Array<[string, string]> } {
  const owners = new Map<string, PathOwner>();
  const after: Array<[string, string]> = [];
  const replacesOf = new Map(packages.map((p) => [p.name, new Set(replaces(p.control, p.name))]));
  for (const pkg of packages) {
    for (const fact of pkg.kept) {
      const prev = owners.get(fact.path);
      if (prev === undefined) {
        owners.set(fact.path, { package: pkg.name, fact });
        continue;
      }
      if (prev.package === pkg.name) continue;
      if (prev.fact.type === 'directory' && fact.type === 'directory') continue;
      if (same(prev.fact, fact)) continue;
      if (replacesOf.get(pkg.name)!.has(prev.package)) {
        after.push([prev.package, pkg.name]);
        owners.set(fact.path, { package: pkg.name, fact });
        continue;
      }
      if (replacesOf.get(prev.package)!.has(pkg.name)) {
        after.push([pkg.name, prev.package]);
        continue;
      }
      throw new StrataError('CONFLICT', `${prev.package} and ${pkg.name} both ship /${fact.path} (as ${prev.fact.type} and ${fact.type}), and neither Replaces the other`, {
        detail: { path: `/${fact.path}`, packages: [prev.package, pkg.name] },
        hint: 'dpkg would refuse to install them together; remove one of them from the spec (strata why SPEC PKG shows why each is in)',
      });
    }
  }
  for (const [path, owner] of owners) {
    for (const parent of parentDirs(path)) {
      const p = owners.get(parent);
      if (p !== undefined && p.fact.type !== 'directory') {
        throw new StrataError('CONFLICT', `${owner.package} ships /${path}, below /${parent}, which ${p.package} ships as a ${p.fact.type}`, {
          detail: { path: `/${path}`, parent: `/${parent}`, packages: [p.package, owner.package] },
          hint: 'a runtime unpacking the image would follow the link and write elsewhere; strata refuses such images',
        });
      }
    }
  }
  return { owners, after };
}

/** Refuses files owned by a uid or gid that /etc/passwd or /etc/group does not declare. */
export function checkOwners(entries: Array<{ path: string; uid: number; gid: number; package: string }>, uids: Set<number>, gids: Set<number>): void {
  for (const e of entries) {
    if (!uids.has(e.uid) || !gids.has(e.gid)) {
      const which = !uids.has(e.uid) ? `uid ${e.uid}` : `gid ${e.gid}`;
      throw new StrataError('SPEC_INVALID', `/${e.path} (from ${e.package}) is owned by ${which}, which the image does not declare`, {
        detail: { path: `/${e.path}`, package: e.package, uid: e.uid, gid: e.gid },
        hint: 'declare the account under accounts: in the spec with that ID',
      });
    }
  }
}
