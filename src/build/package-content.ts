// Owns turning one .deb into image entries: every data-archive entry gets its canonical
// image path (normalised, merged /usr), is checked (no path may leave the image; device
// nodes and FIFOs are dropped, since runtimes create /dev), and has its content kept for the
// layer writer. The result also carries the package's facts — control data, maintainer
// scripts, every path with its metadata and content digest, and the few files the effects
// read — which are cached by the .deb's sha256 so a cached layer needs no second read.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { relative } from 'node:path';
import { StrataError } from '../errors.js';
import { parseArMemberHeader } from '../archive/ar.js';
import { compressionOfName, decompressToFile, decompressXzBatch, type XzRangeDecoder } from '../archive/decompress.js';
import type { TarEntry } from '../archive/tar-header.js';
import { readTar } from '../archive/tar-reader.js';
import { readControlMember, type DebControl } from '../debian/deb-reader.js';
import type { LockedPackage } from '../debian/lockfile.js';
import { mergeUsr, normalisePath } from '../debian/merged-usr.js';
import type { ControlScript } from '../debian/deb-reader.js';
import { isBaseSymlinkPath, redirectBasePath } from '../effects/base-layout.js';
import { ContentStore, type ContentRef } from './content-store.js';

import { FACTS_VERSION } from './facts-version.js';

export { FACTS_VERSION };

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

/** Reads exactly n bytes from the file's current position (fewer only at its end). */
async function readOn(file: FileHandle, n: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await file.read(buf, got, n - got, null);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === n ? buf : buf.subarray(0, got);
}

interface DataMember {
  name: string;
  /** Offset of the member's first byte in the .deb. */
  offset: number;
  size: number;
  /** Bytes after the member to the end of the file (the padding byte), when it is the last. */
  trailing: number | undefined;
}

/** What the ar container of a .deb holds before its data: the control member, and where the data is. */
export interface DebHead {
  debPath: string;
  pkg: LockedPackage;
  what: string;
  control: { name: string; bytes: Buffer };
  data: DataMember;
}

/**
 * Reads the ar container of a .deb (deb(5)) up to the data member's header: the format
 * version, the control member's bytes, and where the data member is.
 */
export async function readDebHead(debPath: string, pkg: LockedPackage): Promise<DebHead> {
  const what = `${pkg.name}_${pkg.version}_${pkg.architecture}.deb`;
  const file = await open(debPath, 'r');
  try {
    const fileSize = (await file.stat()).size;
    const magic = await readOn(file, 8);
    if (magic.toString('latin1') !== '!<arch>\n') throw new StrataError('DEB_INVALID', `${what}: not an ar archive (bad magic)`);
    let offset = 8;
    let first = true;
    let control: DebHead['control'] | undefined;
    while (offset < fileSize) {
      const { name, size } = parseArMemberHeader(await readOn(file, 60), what);
      offset += 60;
      if (first) {
        if (name !== 'debian-binary') throw new StrataError('DEB_INVALID', `${what}: the first member is not debian-binary`);
        first = false;
      } else if (name.startsWith('data.tar')) {
        if (control === undefined) break;
        const end = offset + size;
        if (end > fileSize) throw new StrataError('DEB_INVALID', `${what}: truncated inside ar member ${name}`);
        return { debPath, pkg, what, control, data: { name, offset, size, trailing: fileSize - end <= 1 ? fileSize - end : undefined } };
      } else if (!name.startsWith('control.tar') && !name.startsWith('_')) {
        // Unknown members before data are allowed by deb(5) only when they start with "_".
        throw new StrataError('DEB_INVALID', `${what}: unexpected member ${name}`);
      }
      const body = await readOn(file, size + (size % 2));
      if (body.length < size) throw new StrataError('DEB_INVALID', `${what}: truncated inside ar member ${name}`);
      offset += body.length;
      if (name === 'debian-binary') {
        const version = body.toString('latin1', 0, size);
        if (!version.startsWith('2.')) throw new StrataError('DEB_INVALID', `${what}: unsupported .deb format ${JSON.stringify(version.trim())}`);
      } else if (name.startsWith('control.tar')) {
        control = { name, bytes: body.subarray(0, size) };
      }
    }
    if (first) throw new StrataError('DEB_INVALID', `${what}: the first member is not debian-binary`);
    throw new StrataError('DEB_INVALID', `${what}: missing ${control === undefined ? 'control.tar' : 'data.tar'} member`);
  } finally {
    await file.close();
  }
}

const once = (bytes: Uint8Array) =>
  (async function* () {
    yield bytes;
  })();

/**
 * The control data of several .debs. Their xz control members (a few KiB each) are decoded
 * by one run of xz rather than one process each; anything else, or a batch that fails, is
 * read member by member (which names the package at fault).
 */
export async function readControls(heads: DebHead[]): Promise<DebControl[]> {
  const xzHeads = heads.filter((h) => compressionOfName(h.control.name) === 'xz');
  const batch = xzHeads.length > 1 ? await decompressXzBatch(xzHeads.map((h) => h.control.bytes)) : undefined;
  const decoded = new Map<DebHead, Buffer>();
  if (batch !== undefined) xzHeads.forEach((h, i) => decoded.set(h, batch[i]!));
  return Promise.all(
    heads.map((h) => {
      const tar = decoded.get(h);
      return tar !== undefined ? readControlMember(h.control.name, once(tar), h.what, true) : readControlMember(h.control.name, once(h.control.bytes), h.what);
    }),
  );
}

/**
 * Scans the data of one .deb (its control member, from `controlOf`, may still be decoding when
 * this starts). Its data archive is decompressed into a private scratch file at
 * `scratchPath` (by the host's xz: through `runner`, else reading the .deb itself, when it
 * can), which then holds the contents for the layer writer; the caller closes `store` when the
 * layer is written.
 */
export async function scanData(head: DebHead, controlOf: () => Promise<DebControl>, scratchPath: string, runner?: { decoder: XzRangeDecoder; cwd: string }): Promise<ScannedPackage> {
  const { pkg, what } = head;
  const dataName = head.data.name;
  const store = await ContentStore.create(scratchPath);
  const contents = new Map<string, ContentRef>();
  const paths: PathFact[] = [];
  const droppedSpecial: string[] = [];
  const extracted: Record<string, string> = {};
  const seen = new Map<string, number>();
  let maxMtime = 0;
  try {
    const compression = compressionOfName(dataName);
    if (compression === undefined) throw new StrataError('DEB_INVALID', `${what}: unsupported member compression ${dataName}`);
    const job = compression === 'xz' && runner !== undefined ? runner.decoder.decode(relative(runner.cwd, head.debPath), head.data.offset, head.data.size, relative(runner.cwd, scratchPath), `${what} ${dataName}`) : undefined;
    if (job !== undefined && (await job)) {
      store.size = (await store.handle.stat()).size;
    } else {
      const file = await open(head.debPath, 'r');
      try {
        // Read up to the data member, so that the file's position (which xz inherits) is its first byte.
        if ((await readOn(file, head.data.offset)).length !== head.data.offset) throw new StrataError('DEB_INVALID', `${what}: truncated`);
        store.size = await decompressToFile(file, head.data.size, head.data.trailing, compression, store.handle, `${what} ${dataName}`);
      } finally {
        await file.close();
      }
    }
    for await (const { entry, body, offset } of readTar(store.chunks(), `${what} ${dataName}`)) {
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
        // The content stays where it is in the scratch file; only its digest is taken here.
        const hash = createHash('sha256');
        const keep = isEffectInput(path) ? ([] as Buffer[]) : undefined;
        for await (const chunk of body) {
          hash.update(chunk);
          keep?.push(chunk);
        }
        fact.sha256 = hash.digest('hex');
        contents.set(path, { offset, size: entry.size });
        if (keep !== undefined) extracted[path] = Buffer.concat(keep).toString('base64');
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
  // The control member is read while data.tar decodes; it is needed only here.
  const control = await controlOf().catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
  const facts: PackageFacts = {
    version: FACTS_VERSION,
    name: pkg.name,
    packageVersion: pkg.version,
    architecture: pkg.architecture,
    control: control.text,
    md5sums: control.md5sums,
    conffiles: control.conffiles,
    scripts: control.scripts,
    paths,
    maxMtime,
    droppedSpecial,
    extracted,
  };
  return { facts, contents, store };
}

/** Scans one .deb: see scanData. */
export async function scanDeb(debPath: string, pkg: LockedPackage, scratchPath: string): Promise<ScannedPackage> {
  const head = await readDebHead(debPath, pkg);
  const [control] = await readControls([head]);
  return scanData(head, async () => control!, scratchPath);
}
