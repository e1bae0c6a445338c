// Builds real .deb files for the hermetic test archive with strata's own tar and ar writers:
// `debian-binary`, `control.tar.gz` (control, md5sums, maintainer scripts), and `data.tar`
// compressed with gzip (pako: pure JS, so the bytes do not depend on the zlib Node was built
// with; they equal node:zlib's level-9 output today), xz or zstd (the host's tools) or not at
// all. The output is byte-for-byte deterministic for a given description, so golden digests
// can rest on it (the xz and zstd members depend on the host tool's version: golden images
// use gzip-only packages).
//
// Hostile and broken packages for the bad-input tests: `rawData` writes data.tar entries
// exactly as given (any path string, device nodes: no normalisation, no parents added),
// `mangleData` changes the uncompressed data.tar (e.g. truncates it) before compression and
// `mangleCompressedData` the compressed member.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzip } from 'pako';
import { writeAr } from '../../src/archive/ar.js';
import { tarToBuffer } from '../../src/archive/tar-writer.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarEntry } from '../../src/archive/tar-header.js';

/** gzip at level 9 with mtime 0 and OS 3: the bytes node:zlib's gzipSync(data, {level: 9}) writes. */
export function gzip9(data: Uint8Array): Buffer {
  return Buffer.from(gzip(data, { level: 9 }));
}

/** A tar written entry by entry with the header codec only: no refusals (device nodes, any path). */
export function rawTar(entries: Array<{ entry: TarEntry; content?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const { entry, content } of entries) {
    parts.push(encodeHeader(entry));
    if (entry.type === 'file') {
      const c = content ?? Buffer.alloc(0);
      parts.push(c, Buffer.alloc(padding(c.length)));
    }
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

export interface FixtureFile {
  /** Absolute path in the package, e.g. /usr/bin/fixapp. */
  path: string;
  content?: string | Buffer;
  mode?: number;
  symlink?: string;
  hardlink?: string;
  directory?: boolean;
  uid?: number;
  gid?: number;
  xattrs?: Record<string, Buffer>;
  /** Default FIXTURE_MTIME. */
  mtime?: number;
  /** A device node or FIFO (Debian packages may ship them; images never hold them). */
  special?: 'char' | 'block' | 'fifo';
}

export interface FixturePackage {
  name: string;
  version: string;
  architecture?: string;
  source?: string;
  depends?: string;
  preDepends?: string;
  recommends?: string;
  provides?: string;
  conflicts?: string;
  breaks?: string;
  replaces?: string;
  essential?: boolean;
  priority?: string;
  section?: string;
  multiArch?: string;
  description?: string;
  files?: FixtureFile[];
  scripts?: Partial<Record<'preinst' | 'postinst' | 'prerm' | 'postrm', string>>;
  conffiles?: string[];
  compression?: 'gzip' | 'xz' | 'zstd' | 'none';
  /** Write data.tar paths without the leading "./" (some third-party .debs do). */
  bareDataPaths?: boolean;
  /** data.tar entries written verbatim, instead of `files` (hostile packages). */
  rawData?: Array<{ entry: TarEntry; content?: Buffer }>;
  /** Changes the uncompressed data.tar before compression (broken packages). */
  mangleData?: (tar: Buffer) => Buffer;
  /** Changes the compressed data.tar member (broken packages). */
  mangleCompressedData?: (member: Buffer) => Buffer;
}

export const FIXTURE_MTIME = 1640995200; // 2022-01-01T00:00:00Z

export function controlStanza(p: FixturePackage, installedSize: number): string {
  const lines = [`Package: ${p.name}`];
  if (p.source !== undefined) lines.push(`Source: ${p.source}`);
  lines.push(`Version: ${p.version}`, `Architecture: ${p.architecture ?? 'amd64'}`, 'Maintainer: strata tests <test@strata.invalid>', `Installed-Size: ${installedSize}`);
  if (p.essential) lines.push('Essential: yes');
  if (p.multiArch !== undefined) lines.push(`Multi-Arch: ${p.multiArch}`);
  if (p.preDepends !== undefined) lines.push(`Pre-Depends: ${p.preDepends}`);
  if (p.depends !== undefined) lines.push(`Depends: ${p.depends}`);
  if (p.recommends !== undefined) lines.push(`Recommends: ${p.recommends}`);
  if (p.provides !== undefined) lines.push(`Provides: ${p.provides}`);
  if (p.conflicts !== undefined) lines.push(`Conflicts: ${p.conflicts}`);
  if (p.breaks !== undefined) lines.push(`Breaks: ${p.breaks}`);
  if (p.replaces !== undefined) lines.push(`Replaces: ${p.replaces}`);
  lines.push(`Section: ${p.section ?? 'misc'}`, `Priority: ${p.priority ?? 'optional'}`);
  lines.push(`Description: ${p.description ?? `${p.name} test package`}`, ` A package of the strata hermetic test archive.`);
  return `${lines.join('\n')}\n`;
}

function parents(path: string): string[] {
  const parts = path.split('/').filter((x) => x !== '');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}

function compress(data: Buffer, how: FixturePackage['compression']): { suffix: string; bytes: Buffer } {
  switch (how ?? 'gzip') {
    case 'gzip':
      return { suffix: '.gz', bytes: gzip9(data) };
    case 'none':
      return { suffix: '', bytes: data };
    case 'xz': {
      const r = spawnSync('xz', ['-c', '-6', '--threads=1'], { input: data, maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`xz failed: ${r.stderr}`);
      return { suffix: '.xz', bytes: r.stdout };
    }
    case 'zstd': {
      const r = spawnSync('zstd', ['-q', '-c', '-19'], { input: data, maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`zstd failed (is the zstd package installed?): ${r.stderr}`);
      return { suffix: '.zst', bytes: r.stdout };
    }
  }
}

export interface BuiltDeb {
  bytes: Buffer;
  control: string;
  installedSize: number;
}

export async function makeDeb(p: FixturePackage): Promise<BuiltDeb> {
  const files = p.files ?? [];
  const dirs = new Set<string>();
  for (const f of files) {
    for (const d of parents(f.path)) dirs.add(d);
    if (f.directory) dirs.add(f.path);
  }
  const prefix = p.bareDataPaths ? '' : '.';
  const entries: Array<{ entry: TarEntry; content?: Buffer }> = [];
  if (!p.bareDataPaths) entries.push({ entry: { path: '.', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: FIXTURE_MTIME } });
  const all = [...[...dirs].map((d) => ({ path: d, directory: true }) as FixtureFile), ...files.filter((f) => !f.directory || !dirs.has(f.path))];
  const explicitDirs = new Map(files.filter((f) => f.directory).map((f) => [f.path, f]));
  all.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let bytes = 0;
  let special = false;
  const md5: string[] = [];
  for (const f0 of all) {
    const f = explicitDirs.get(f0.path) ?? f0;
    const path = `${prefix}${f.path}`.replace(/^\//, '');
    const base = { path, uid: f.uid ?? 0, gid: f.gid ?? 0, mtime: f.mtime ?? FIXTURE_MTIME, size: 0 };
    if (f.special !== undefined) {
      special = true;
      entries.push({ entry: { ...base, type: f.special, mode: f.mode ?? 0o644 } });
    } else if (f.directory) {
      entries.push({ entry: { ...base, type: 'directory', mode: f.mode ?? 0o755 } });
    } else if (f.symlink !== undefined) {
      entries.push({ entry: { ...base, type: 'symlink', mode: 0o777, linkname: f.symlink } });
    } else if (f.hardlink !== undefined) {
      entries.push({ entry: { ...base, type: 'hardlink', mode: f.mode ?? 0o644, linkname: `${prefix}${f.hardlink}`.replace(/^\//, '') } });
    } else {
      const content = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content ?? '');
      bytes += content.length;
      const entry: TarEntry = { ...base, type: 'file', mode: f.mode ?? 0o644, size: content.length };
      if (f.xattrs !== undefined) entry.xattrs = f.xattrs;
      entries.push({ entry, content });
      md5.push(`${createHash('md5').update(content).digest('hex')}  ${f.path.replace(/^\//, '')}`);
    }
  }
  let data = p.rawData !== undefined ? rawTar(p.rawData) : special ? rawTar(entries) : await tarToBuffer(entries);
  if (p.rawData !== undefined) for (const { content } of p.rawData) bytes += content?.length ?? 0;
  if (p.mangleData !== undefined) data = p.mangleData(data);
  const installedSize = Math.max(1, Math.ceil(bytes / 1024));
  const control = controlStanza(p, installedSize);
  const controlEntries: Array<{ entry: TarEntry; content?: Buffer }> = [
    { entry: { path: '.', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: FIXTURE_MTIME } },
  ];
  const controlFiles: Array<[string, string, number]> = [['control', control, 0o644]];
  if (p.conffiles !== undefined) controlFiles.push(['conffiles', `${p.conffiles.join('\n')}\n`, 0o644]);
  if (md5.length > 0) controlFiles.push(['md5sums', `${md5.join('\n')}\n`, 0o644]);
  for (const [name, body] of Object.entries(p.scripts ?? {})) controlFiles.push([name, body!, 0o755]);
  controlFiles.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  for (const [name, body, mode] of controlFiles) {
    const content = Buffer.from(body);
    controlEntries.push({ entry: { path: `./${name}`, type: 'file', mode, uid: 0, gid: 0, size: content.length, mtime: FIXTURE_MTIME }, content });
  }
  const controlTar = gzip9(await tarToBuffer(controlEntries));
  const dataTar = compress(data, p.compression);
  if (p.mangleCompressedData !== undefined) dataTar.bytes = p.mangleCompressedData(dataTar.bytes);
  const deb = writeAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'control.tar.gz', data: controlTar },
    { name: `data.tar${dataTar.suffix}`, data: dataTar.bytes },
  ]);
  return { bytes: deb, control, installedSize };
}
