// Owns the package database that scanners read instead of dpkg's: one control stanza per
// package in /var/lib/dpkg/status.d/<package>, and its md5sums limited to the files the
// image keeps, in /var/lib/dpkg/status.d/<package>.md5sums (the layout distroless uses and
// Trivy, Syft and Grype read). It lives in the package's own layer, so a package layer is
// self-contained.
import { file, type GeneratedEntry } from './types.js';

export const STATUS_DIR = 'var/lib/dpkg/status.d';

/** Keeps md5sums lines whose file is in the image; kept is checked with image paths. */
export function filterMd5sums(md5sums: string, kept: (path: string) => boolean): string {
  return md5sums
    .split('\n')
    .filter((line) => {
      const m = /^[0-9a-f]{32}\s+(.+)$/.exec(line.trim());
      return m !== null && kept(m[1]!.replace(/^\.?\//, ''));
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
