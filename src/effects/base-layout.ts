// Owns the skeleton every image starts from (base-files' layout and merged /usr, debian.md):
// /bin, /sbin, /lib (and /lib64 where the ABI's loader lives there) as symlinks into /usr,
// /var/run → /run, /var/lock → /run/lock, /tmp and /var/tmp sticky and world-writable,
// /root private, and empty /proc, /dev and /sys for runtimes and sandboxes to mount on.
import { directory, symlink, type GeneratedEntry } from './types.js';

/** Architectures whose dynamic loader path is under /lib64. */
const LIB64 = new Set(['amd64', 'ppc64el', 'mips64el', 'loong64']);

export function baseLayout(architecture: string): GeneratedEntry[] {
  const entries: GeneratedEntry[] = [
    symlink('bin', 'usr/bin'),
    directory('dev'),
    directory('etc'),
    directory('home'),
    symlink('lib', 'usr/lib'),
    directory('proc', 0o555),
    directory('root', 0o700),
    directory('run'),
    directory('run/lock', 0o1777),
    symlink('sbin', 'usr/sbin'),
    directory('sys', 0o555),
    directory('tmp', 0o1777),
    directory('usr'),
    directory('usr/bin'),
    directory('usr/lib'),
    directory('usr/local'),
    directory('usr/sbin'),
    directory('usr/share'),
    directory('var'),
    directory('var/cache'),
    directory('var/lib'),
    symlink('var/lock', '/run/lock'),
    directory('var/log'),
    symlink('var/run', '/run'),
    directory('var/tmp', 0o1777),
  ];
  if (LIB64.has(architecture)) entries.push(symlink('lib64', 'usr/lib64'), directory('usr/lib64'));
  return entries;
}

/** Paths that are symlinks in the base layout; package paths under them are redirected. */
export const BASE_REDIRECTS: ReadonlyArray<[string, string]> = [
  ['var/run', 'run'],
  ['var/lock', 'run/lock'],
];

/** Redirects a canonical path at or below a base-layout symlink to where the symlink points
 * (a package's directory var/run becomes run; its symlink there is dropped before this). */
export function redirectBasePath(path: string): string {
  for (const [from, to] of BASE_REDIRECTS) {
    if (path === from || path.startsWith(`${from}/`)) return to + path.slice(from.length);
  }
  return path;
}

/** Paths the base layout owns as symlinks: a package's own entry there is dropped. */
export function isBaseSymlinkPath(path: string): boolean {
  return ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'libo32', 'var/run', 'var/lock'].includes(path);
}
