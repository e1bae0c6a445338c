// Owns what goes into a package layer: a pure function of the packages' facts, the build
// options (profile, epoch) and the file overrides their scripts ask for. Rules
// (docs/reproducibility.md):
// - the profile's filter decides which paths stay; parents of kept entries are written
//   explicitly (synthesised when the package does not ship them);
// - timestamps are the package's own, clamped to the epoch; synthesised directories and the
//   status.d files take the package's newest timestamp (clamped), so a package layer does
//   not change when only the lock's epoch moves;
// - owners and modes come from the package (or its stat overrides), never from the host;
// - a hard link points to the first path of its set in byte order, which holds the content;
// - entries are sorted by path bytes; one entry per path. For a directory the first package
//   of the layer wins. Other paths are shared only by identical entries or when one package
//   Replaces the other (the image check refuses the rest and orders the replacer later); the
//   later package wins, as it would with a layer of its own, so the image does not depend on
//   how the plan groups packages.
import type { TarEntry } from '../archive/tar-header.js';
import { comparePathBytes, parentDirs } from '../debian/merged-usr.js';
import { dpkgStatus } from '../effects/dpkg-status.js';
import type { FileOverride } from '../effects/file-overrides.js';
import type { Profile } from '../spec/spec.js';
import type { ContentStore, ContentRef } from './content-store.js';
import type { LayerItem } from './layer-writer.js';
import type { PackageFacts, PathFact } from './package-content.js';
import { keepPath } from './profile.js';

export interface LayerPackage {
  facts: PackageFacts;
  overrides: Map<string, FileOverride>;
  /** Present when the layer is being written (absent when only its metadata is needed). */
  contents?: Map<string, ContentRef>;
  store?: ContentStore;
}

/** The paths of a package that an image of this profile keeps (directories included). */
export function keptPaths(facts: PackageFacts, profile: Profile): PathFact[] {
  return facts.paths.filter((p) => keepPath(p.path, profile));
}

export function packageMtime(facts: PackageFacts, epoch: number): number {
  return Math.min(facts.maxMtime, epoch);
}

export function layerItems(packages: LayerPackage[], profile: Profile, epoch: number): LayerItem[] {
  const items = new Map<string, LayerItem>();
  /** Which package of the layer (its index) wrote each non-directory entry. */
  const writer = new Map<string, number>();
  for (const [index, pkg] of packages.entries()) {
    const { facts } = pkg;
    const mtime = packageMtime(facts, epoch);
    const kept = keptPaths(facts, profile);
    const keptSet = new Set(kept.map((p) => p.path));
    const byPath = new Map(facts.paths.map((p) => [p.path, p]));
    const content = (path: string) => {
      const ref = pkg.contents?.get(path);
      const store = pkg.store;
      if (ref === undefined || store === undefined) return undefined;
      return () => store.read(ref);
    };
    const add = (entry: TarEntry, source?: () => AsyncIterable<Uint8Array>) => {
      const previous = items.get(entry.path);
      if (previous !== undefined) {
        const earlierPackage = (writer.get(entry.path) ?? index) < index;
        if (!earlierPackage || entry.type === 'directory' || previous.entry.type === 'directory') return;
      }
      const item: LayerItem = { entry };
      if (source !== undefined) item.content = source;
      items.set(entry.path, item);
      if (entry.type !== 'directory') writer.set(entry.path, index);
    };
    const dir = (path: string) => add({ path, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime });

    // Hard-link sets: the first path in byte order holds the content.
    const linkSets = new Map<string, string[]>();
    for (const p of kept) {
      if (p.type !== 'hardlink' || p.linkname === undefined) continue;
      const set = linkSets.get(p.linkname) ?? [p.linkname];
      set.push(p.path);
      linkSets.set(p.linkname, set);
    }
    const hardlinkOf = new Map<string, string>();
    const holderFor = new Map<string, string>();
    for (const [target, set] of linkSets) {
      const present = set.filter((s) => keptSet.has(s)).sort(comparePathBytes);
      if (present.length === 0) continue;
      const holder = present[0]!;
      holderFor.set(holder, target);
      for (const s of present.slice(1)) hardlinkOf.set(s, holder);
    }

    for (const p of kept) {
      const o = pkg.overrides.get(p.path);
      const base = {
        path: p.path,
        mode: o?.mode ?? p.mode,
        uid: o?.uid ?? p.uid,
        gid: o?.gid ?? p.gid,
        mtime: Math.min(p.mtime, epoch),
      };
      const xattrs = p.xattrs === undefined ? undefined : Object.fromEntries(Object.entries(p.xattrs).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      const withXattrs = (e: TarEntry): TarEntry => {
        const x = { ...(xattrs ?? {}) } as Record<string, Uint8Array>;
        if (o?.capability !== undefined) x['security.capability'] = o.capability;
        if (Object.keys(x).length > 0) e.xattrs = x;
        return e;
      };
      if (p.type === 'directory') {
        add(withXattrs({ ...base, type: 'directory', size: 0 }));
      } else if (p.type === 'symlink') {
        add({ ...base, type: 'symlink', size: 0, linkname: p.linkname ?? '' });
      } else if (hardlinkOf.has(p.path)) {
        add({ ...base, type: 'hardlink', size: 0, linkname: hardlinkOf.get(p.path)! });
      } else if (p.type === 'hardlink' || holderFor.has(p.path)) {
        // This path holds the content of a hard-link set (it may have been a link in the .deb).
        const target = holderFor.get(p.path) ?? p.linkname!;
        const t = byPath.get(target);
        add(withXattrs({ ...base, type: 'file', size: t?.size ?? p.size }), content(target));
      } else {
        add(withXattrs({ ...base, type: 'file', size: p.size }), content(p.path));
      }
    }
    for (const e of dpkgStatus(facts.name, facts.control, facts.md5sums, (path) => keptSet.has(path))) {
      const c = e.content!;
      add({ path: e.path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: c.length, mtime }, async function* () {
        yield c;
      });
    }
    // Parents of everything, explicitly.
    for (const path of [...items.keys()]) for (const parent of parentDirs(path)) if (!items.has(parent)) dir(parent);
  }
  return [...items.values()].sort((a, b) => comparePathBytes(a.entry.path, b.entry.path));
}
