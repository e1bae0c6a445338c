// Owns the order of image paths (by their UTF-8 bytes, never by locale) and their parents.

/** Compares paths by their UTF-8 bytes (not by locale, not by UTF-16 units). */
export function comparePathBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The parent directories of a relative path, outermost first: a/b/c → [a, a/b]. */
export function parentDirs(path: string): string[] {
  const out: string[] = [];
  let i = path.indexOf('/');
  while (i > 0) {
    out.push(path.slice(0, i));
    i = path.indexOf('/', i + 1);
  }
  return out;
}
