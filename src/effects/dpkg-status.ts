// Owns the package database that scanners read instead of dpkg's: one control stanza per
// package in /var/lib/dpkg/status.d/<package>, and its md5sums limited to the files the
// image keeps, in /var/lib/dpkg/status.d/<package>.md5sums (the layout distroless uses and
// Trivy, Syft and Grype read). It lives in the package's own layer, so a package layer is
// self-contained. Lines keep the path as the package lists it (`lib/x86_64-linux-gnu/…`, as
// dpkg records it); whether the file is kept is asked with its image path (`usr/lib/…`).
import { mergeUsr, normalisePath } from '../debian/merged-usr.js';
import { redirectBasePath } from './base-layout.js';
import { file, type GeneratedEntry } from './types.js';

export const STATUS_DIR = 'var/lib/dpkg/status.d';

/** The image path of a path as a package lists it (merged /usr, base-layout redirects). */
function imagePathOf(listed: string): string | undefined {
  const n = normalisePath(listed);
  return n === 'escapes' || n === 'nul' || n === '' ? undefined : redirectBasePath(mergeUsr(n));
}

/** Keeps md5sums lines whose file is in the image; kept is checked with image paths. */
export function filterMd5sums(md5sums: string, kept: (path: string) => boolean): string {
  return md5sums
    .split('\n')
    .filter((line) => {
      const m = /^[0-9a-f]{32}\s+(.+)$/.exec(line.trim());
      if (m === null) return false;
      const path = imagePathOf(m[1]!);
      return path !== undefined && kept(path);
    })
    .map((l) => `${l.trim()}\n`)
    .join('');
}

export function dpkgStatus(name: string, control: string, md5sums: string, kept: (path: string) => boolean): GeneratedEntry[] {
  const entries = [file(`${STATUS_DIR}/${name}`, control.endsWith('\n') ? control : `${control}\n`)];
  const sums = filterMd5sums(md5sums, kept);
  if (sums !== '') entries.push(file(`${STATUS_DIR}/${name}.md5sums`, sums));
  return entries;
}
