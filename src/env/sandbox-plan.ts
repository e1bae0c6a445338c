// Owns the sandbox's mount plan and its bubblewrap arguments, as a pure function of the
// request and a view of the environment's tree. bwrap's root is a fresh tmpfs: each top-level
// entry of the tree is bound read-only into it (symlinks recreated), so mount points the tree
// lacks (the working directory's path, HOME, a volume's target) can still be made. When such
// a mount point lies inside a directory of the tree, that directory is "exploded" along the
// way: made in the tmpfs, with its own entries bound one by one. Then /proc, /dev, tmpfs on
// /tmp, /run and /var/tmp, the request's mounts (parents before children), and finally the
// root tmpfs itself is made read-only: only the mounts the request names are writable.
import { posix } from 'node:path';
import { StrataError } from '../errors.js';

export type NodeType = 'dir' | 'file' | 'symlink' | 'other' | 'missing';

export interface TreeView {
  /** The type of an absolute path inside the tree, without following its last component;
   * `symlinkAt` names an ancestor that is a symlink (then the path cannot be mounted on). */
  lookup(path: string): Promise<{ type: NodeType; target?: string; symlinkAt?: string }>;
  /** The names in a directory of the tree, sorted. */
  children(path: string): Promise<string[]>;
}

export interface SandboxMount {
  kind: 'bind' | 'ro-bind' | 'tmpfs' | 'ro-bind-data';
  /** Host path (binds) or file descriptor number (ro-bind-data). */
  source?: string | number;
  /** Absolute path inside the sandbox. */
  target: string;
}

export interface SandboxRequest {
  /** Host path of the environment's tree. */
  root: string;
  uid: number;
  gid: number;
  /** Working directory inside the sandbox. */
  chdir: string;
  mounts: SandboxMount[];
  network: 'host' | 'none';
  argv: string[];
}

/** Mounts every sandbox gets; the optional ones only where the tree has the directory. */
const STANDARD: Array<{ flag: '--proc' | '--dev' | '--tmpfs'; target: string; optional: boolean }> = [
  { flag: '--proc', target: '/proc', optional: false },
  { flag: '--dev', target: '/dev', optional: false },
  { flag: '--tmpfs', target: '/tmp', optional: false },
  { flag: '--tmpfs', target: '/run', optional: false },
  { flag: '--tmpfs', target: '/var/tmp', optional: true },
];

export function normaliseTarget(path: string): string {
  if (!path.startsWith('/')) throw new StrataError('USAGE', `${JSON.stringify(path)} is not an absolute path inside the environment`);
  const n = posix.normalize(path);
  return n.length > 1 ? n.replace(/\/$/, '') : n;
}

function ancestors(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const out = ['/'];
  for (let i = 1; i < parts.length; i++) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}

const depth = (p: string) => (p === '/' ? 0 : p.split('/').length - 1);

/** The bwrap arguments (without the program) that realise the request. */
export async function sandboxArgs(req: SandboxRequest, tree: TreeView): Promise<string[]> {
  const args: string[] = ['--unshare-user', '--uid', String(req.uid), '--gid', String(req.gid), '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  if (req.network === 'none') args.push('--unshare-net');
  args.push('--die-with-parent');

  const standard: Array<{ flag: string; target: string }> = [];
  for (const s of STANDARD) {
    if (s.optional && (await tree.lookup(s.target)).type !== 'dir') continue;
    standard.push(s);
  }
  const mounts = req.mounts.map((m) => ({ ...m, target: normaliseTarget(m.target) }));
  const targets = new Set([...standard.map((s) => s.target), ...mounts.map((m) => m.target)]);
  if (targets.has('/')) throw new StrataError('USAGE', 'nothing can be mounted on / of an environment');

  // Directories that must be exploded so that a missing mount point can be made.
  const exploded = new Set<string>(['/']);
  for (const target of targets) {
    const node = await tree.lookup(target);
    if (node.symlinkAt !== undefined) {
      throw new StrataError('USAGE', `cannot mount on ${target}: ${node.symlinkAt} is a symlink in the environment`, { hint: 'mount on the path it points to instead' });
    }
    if (node.type !== 'missing') continue;
    for (const a of ancestors(target)) {
      const t = (await tree.lookup(a)).type;
      if (t === 'dir') exploded.add(a);
      else if (t !== 'missing') throw new StrataError('USAGE', `cannot mount on ${target}: ${a} is a ${t} in the environment`);
    }
  }

  const emit = async (dir: string): Promise<void> => {
    for (const name of await tree.children(dir)) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      if (targets.has(path)) continue; // the mount makes its own mount point
      if (exploded.has(path)) {
        args.push('--dir', path);
        await emit(path);
        continue;
      }
      const node = await tree.lookup(path);
      const host = posix.join(req.root, path);
      if (node.type === 'dir' || node.type === 'file') args.push('--ro-bind', host, path);
      else if (node.type === 'symlink') args.push('--symlink', node.target ?? '', path);
    }
  };
  await emit('/');

  for (const s of standard) args.push(s.flag, s.target);
  const ordered = mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.target) - depth(b.m.target) || a.i - b.i);
  for (const { m } of ordered) {
    if (m.kind === 'tmpfs') args.push('--tmpfs', m.target);
    else if (m.kind === 'ro-bind-data') args.push('--ro-bind-data', String(m.source), m.target);
    else args.push(m.kind === 'bind' ? '--bind' : '--ro-bind', String(m.source), m.target);
  }
  args.push('--remount-ro', '/', '--chdir', req.chdir);
  return args;
}
