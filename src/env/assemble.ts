// Owns assembling an environment's root file system from unpacked layers, lowest first, the
// way a container runtime stacks them: an upper layer's entry replaces a lower one's (a
// directory merges with a directory), `.wh.NAME` removes NAME from the layers below and
// `.wh..wh..opq` empties its directory of them (OCI image-spec, "Whiteouts"). Files and
// symlinks are hard links into the layer trees, so environments share their bytes and an
// environment costs only its directories; nothing is read through a symlink, because every
// path is made under a directory this assembly created. The few files a sandbox mounts over
// (/etc/resolv.conf, /etc/hosts, /etc/passwd, /etc/group) are made, empty, when no layer has
// them, since a read-only tree cannot grow a mount point later.
import { chmod, copyFile, link, lstat, mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDirMode } from './unpack-layer.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Files the sandbox binds over; made empty when the image has none (or has a symlink there). */
export const MOUNT_POINT_FILES = ['etc/resolv.conf', 'etc/hosts', 'etc/passwd', 'etc/group'] as const;

export interface AssembleResult {
  entries: number;
}

interface DirMeta {
  mode: number;
  mtime: Date;
}

/** Assembles the layer trees (lowest first) into `dir`, which must not exist yet. */
export async function assembleTree(layers: string[], dir: string): Promise<AssembleResult> {
  await mkdir(dir, { mode: 0o700 });
  const kinds = new Map<string, 'dir' | 'other'>();
  const dirMeta = new Map<string, DirMeta>();
  const drop = async (rel: string) => {
    const was = kinds.get(rel);
    if (was === undefined) return;
    await rm(join(dir, rel), { recursive: true, force: true });
    kinds.delete(rel);
    dirMeta.delete(rel);
    if (was === 'dir') {
      for (const k of [...kinds.keys()]) {
        if (k.startsWith(`${rel}/`)) {
          kinds.delete(k);
          dirMeta.delete(k);
        }
      }
    }
  };
  const place = async (src: string, dst: string) => {
    try {
      await link(src, dst);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EMLINK') throw e;
      await copyFile(src, dst); // an inode at its link limit: a copy is the same bytes
    }
  };
  let entries = 0;
  const walk = async (root: string, rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const at = (name: string) => (rel === '' ? name : `${rel}/${name}`);
    // Whiteouts first: they apply to the layers below, never to this layer's own entries.
    if (names.some((d) => d.name === OPAQUE)) {
      for (const k of [...kinds.keys()]) if (rel === '' ? !k.includes('/') : k.startsWith(`${rel}/`) && !k.slice(rel.length + 1).includes('/')) await drop(k);
    }
    for (const d of names) if (d.name.startsWith(WHITEOUT) && d.name !== OPAQUE) await drop(at(d.name.slice(WHITEOUT.length)));
    for (const d of names) {
      if (d.name.startsWith(WHITEOUT)) continue;
      const p = at(d.name);
      const src = join(root, p);
      const dst = join(dir, p);
      entries++;
      if (d.isDirectory()) {
        if (kinds.get(p) !== 'dir') {
          await drop(p);
          await mkdir(dst, { mode: 0o700 });
          kinds.set(p, 'dir');
        }
        const st = await lstat(src);
        dirMeta.set(p, { mode: st.mode & 0o7777, mtime: st.mtime });
        await walk(root, p);
      } else {
        await drop(p);
        await place(src, dst);
        kinds.set(p, 'other');
      }
    }
  };
  for (const layer of layers) await walk(layer, '');

  // Mount points for the files the sandbox provides.
  if (kinds.get('etc') !== 'dir') {
    await drop('etc');
    await mkdir(join(dir, 'etc'), { mode: 0o700 });
    kinds.set('etc', 'dir');
    dirMeta.set('etc', { mode: 0o755, mtime: new Date(0) });
  }
  for (const rel of MOUNT_POINT_FILES) {
    const path = join(dir, rel);
    const st = kinds.has(rel) ? await lstat(path) : undefined;
    if (st !== undefined && st.isFile()) continue;
    await drop(rel);
    await writeFile(path, '', { mode: 0o444 });
    kinds.set(rel, 'other');
  }

  // Directory modes and times last, deepest first.
  for (const rel of [...dirMeta.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1))) {
    const m = dirMeta.get(rel)!;
    const path = join(dir, rel);
    await chmod(path, cacheDirMode(m.mode));
    await utimes(path, m.mtime, m.mtime);
  }
  await chmod(dir, 0o755);
  return { entries };
}
