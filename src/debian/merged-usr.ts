// Owns image paths: normalising a path from a .deb's data archive into the image's relative
// form, refusing paths that climb out of the image, and the merged-/usr rule. Bookworm
// packages still ship ./bin, ./sbin and ./lib*, but a bookworm system is merged: those are
// symlinks into /usr, so their contents belong under usr/ (debian.md, "Files and merged /usr").

/** Top-level directories that merged /usr turns into symlinks to usr/<same name>. */
export const MERGED_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'libo32'] as const;

export type PathProblem = 'escapes' | 'empty' | 'nul';

/**
 * Normalises a tar path: strips "./" and "/" prefixes, collapses "//" and "." components,
 * and refuses "..". Returns '' for the root itself.
 */
export function normalisePath(raw: string): string | PathProblem {
  if (raw.includes('\0')) return 'nul';
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return 'escapes';
    parts.push(part);
  }
  return parts.join('/');
}

/** Moves bin/…, sbin/…, lib*\/… under usr/. The input is a normalised path. */
export function mergeUsr(path: string): string {
  const slash = path.indexOf('/');
  const top = slash < 0 ? path : path.slice(0, slash);
  return (MERGED_DIRS as readonly string[]).includes(top) ? `usr/${path}` : path;
}

export { comparePathBytes, parentDirs } from '../util/path-order.js';
