// Owns turning one .deb into image entries: every data-archive entry gets its canonical
// image path (normalised, merged /usr), is checked (no path may leave the image; device
// nodes and FIFOs are dropped, since runtimes create /dev), and has its content kept for the
// layer writer. The result also carries the package's facts — control data, maintainer
// scripts, every path with its metadata and content digest, and the few files the effects
// read — which are cached by the .deb's sha256 so a cached layer needs no second read.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { StrataError } from '../errors.js';
import type { TarEntry } from '../archive/tar-header.js';
import { openDeb } from '../debian/deb-reader.js';
import type { LockedPackage } from '../debian/lockfile.js';
import { mergeUsr, normalisePath } from '../debian/merged-usr.js';
import type { ControlScript } from '../debian/deb-reader.js';
import { isBaseSymlinkPath, redirectBasePath } from '../effects/base-layout.js';
import { ContentStore, type ContentRef } from './content-store.js';

/** Bump when the facts format or the path rules change: old cache entries are ignored. */
export const FACTS_VERSION = 3;

export interface PathFact {
  path: string;
  type: TarEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  /** sha256 of a file's content. */
  sha256?: string;
  xattrs?: Record<string, string>;
  /** The owner's user and group names as the .deb records them, when not root (dpkg installs
   * by name: `shadow`, not 42). */
  uname?: string;
  gname?: string;
}

export interface PackageFacts {
  version: number;
  name: string;
  packageVersion: string;
  architecture: string;
  /** The control stanza as shipped. */
  control: string;
  md5sums: string;
  conffiles: string[];
  scripts: Partial<Record<ControlScript, string>>;
  /** Every entry of the data archive, canonical paths, in archive order (root excluded). */
  paths: PathFact[];
  /** The greatest mtime of the package's entries. */
  maxMtime: number;
  /** Device nodes and FIFOs that were not kept. */
  droppedSpecial: string[];
  /** Contents of the files the effects catalogue reads, base64. */
  extracted: Record<string, string>;
}

export interface ScannedPackage {
  facts: PackageFacts;
  /** Content of each file path (canonical). */
  contents: Map<string, ContentRef>;
  store: ContentStore;
}

/** The files whose content the effects catalogue needs. */
export function isEffectInput(path: string): boolean {
  return (
    /^usr\/share\/base-passwd\/(passwd|group)\.master$/.test(path) ||
    path === 'usr/share/libc-bin/nsswitch.conf' ||
    /^usr\/share\/ca-certificates\/.+\.crt$/.test(path) ||
    /^usr\/lib\/sysusers\.d\/[^/]+\.conf$/.test(path) ||
    path === 'etc/ca-certificates.conf' ||
    // Licences for the SBOM (docs/sbom.md).
    /^usr\/share\/doc\/[^/]+\/copyright$/.test(path)
  );
}

export async function scanDeb(debPath: string, pkg: LockedPackage, spillPath: string | undefined): Promise<ScannedPackage> {
  const what = `${pkg.name}_${pkg.version}_${pkg.architecture}.deb`;
  const deb = await openDeb(createReadStream(debPath, { highWaterMark: 1 << 20 }), what);
  const store = new ContentStore(spillPath);
  const contents = new Map<string, ContentRef>();
  const paths: PathFact[] = [];
  const droppedSpecial: string[] = [];
  const extracted: Record<string, string> = {};
  const seen = new Map<string, number>();
  let maxMtime = 0;
  try {
    for await (const { entry, body } of deb.data) {
      const normal = normalisePath(entry.path);
      if (normal === 'escapes' || normal === 'nul') {
        throw new StrataError('DEB_INVALID', `${what}: entry ${JSON.stringify(entry.path)} would be written outside the image; refusing the package`, {
          detail: { package: pkg.name, path: entry.path },
          hint: 'this .deb is malformed or hostile; it cannot be used',
        });
      }
      if (normal === '' || normal === 'empty') continue;
      if (isBaseSymlinkPath(normal) && entry.type !== 'directory') continue; // the base layout owns these symlinks
      const path = redirectBasePath(mergeUsr(normal));
      maxMtime = Math.max(maxMtime, entry.mtime);
      if (entry.type === 'char' || entry.type === 'block' || entry.type === 'fifo' || entry.type === 'other') {
        droppedSpecial.push(path);
        continue;
      }
      const fact: PathFact = { path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size, mtime: entry.mtime };
      if (entry.uid !== 0 && entry.uname) fact.uname = entry.uname;
      if (entry.gid !== 0 && entry.gname) fact.gname = entry.gname;
      if (entry.linkname !== undefined) {
        if (entry.type === 'hardlink') {
          const target = normalisePath(entry.linkname);
          if (target === 'escapes' || target === 'nul' || target === '') {
            throw new StrataError('DEB_INVALID', `${what}: hard link ${path} points outside the image (${entry.linkname})`, { detail: { package: pkg.name, path } });
          }
          fact.linkname = redirectBasePath(mergeUsr(target));
        } else {
          fact.linkname = entry.linkname;
        }
      }
      if (entry.xattrs !== undefined) {
        fact.xattrs = Object.fromEntries(Object.entries(entry.xattrs).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
      }
      if (entry.type === 'file') {
        const hash = createHash('sha256');
        const hashing = (async function* () {
          for await (const chunk of body) {
            hash.update(chunk);
            yield chunk;
          }
        })();
        const ref = await store.add(hashing, entry.size);
        fact.sha256 = hash.digest('hex');
        contents.set(path, ref);
        if (isEffectInput(path)) extracted[path] = (await store.readAll(ref)).toString('base64');
      }
      const previous = seen.get(path);
      if (previous !== undefined) {
        // dpkg-deb never writes a path twice except a directory; the last entry wins, as tar extraction would.
        paths[previous] = fact;
      } else {
        seen.set(path, paths.length);
        paths.push(fact);
      }
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  const facts: PackageFacts = {
    version: FACTS_VERSION,
    name: pkg.name,
    packageVersion: pkg.version,
    architecture: pkg.architecture,
    control: deb.control.text,
    md5sums: deb.control.md5sums,
    conffiles: deb.control.conffiles,
    scripts: deb.control.scripts,
    paths,
    maxMtime,
    droppedSpecial,
    extracted,
  };
  return { facts, contents, store };
}
