// Owns the typed difference between two images (or lockfiles): where it is, which field,
// the two values, the cause class that explains it, and the input it is attributed to. Both
// `strata verify` and `strata diff` produce these; the CLI and the HTML report render them.
//
// Cause classes (docs/verify.md):
//   package     a locked package changed (added, removed, another version or .deb)
//   compressor  only the compressed bytes differ: the same DiffID, another deflate stream
//   timestamp   a time differs: tar mtime, pax times, gzip MTIME, config created, history
//   ownership   uid, gid, uname or gname
//   ordering    the same entries or keys in another order
//   metadata    mode, link target, xattrs, tar header encoding, config fields, annotations
//   content     file bytes differ and no package change explains it
//   integrity   stored bytes do not match the digest that names them (tampering, corruption)
//   tool        strata's version or the compressor's identity differs
//   input       the images were built from different lockfiles or build options

export const CAUSES = ['package', 'compressor', 'timestamp', 'ownership', 'ordering', 'metadata', 'content', 'integrity', 'tool', 'input'] as const;
export type Cause = (typeof CAUSES)[number];

export type Level = 'index' | 'manifest' | 'config' | 'layer' | 'blob' | 'file' | 'package' | 'build';

export interface Difference {
  level: Level;
  /** The platform (os/arch) for image-level differences, when the image has several. */
  platform?: string;
  /** Where: "layer 3 (libfix6)", "config", "usr/bin/fixapp". */
  where: string;
  /** Which field: "mtime", "uid", "content", "pax SCHILY.xattr.user.x", "gzip MTIME", "config.Env". */
  field?: string;
  a?: string;
  b?: string;
  cause: Cause;
  /** One sentence a person can act on. */
  explanation: string;
  /** The input that explains it: a lockfile entry, a build option, a tool version, a perturbation. */
  attribution?: string;
}

/** Sort order of causes in reports: the most actionable first. */
export function causeRank(c: Cause): number {
  return CAUSES.indexOf(c);
}

/** Counts per cause, in CAUSES order (causes with no difference left out). */
export function countByCause(diffs: readonly Difference[]): Partial<Record<Cause, number>> {
  const out: Partial<Record<Cause, number>> = {};
  for (const c of CAUSES) {
    const n = diffs.filter((d) => d.cause === c).length;
    if (n > 0) out[c] = n;
  }
  return out;
}

/** A value shortened for display: digests to 12 hex digits after the algorithm. */
export function shortDigest(d: string | undefined): string {
  if (d === undefined) return '—';
  const m = /^(sha256:)([0-9a-f]{64})$/.exec(d);
  return m ? `${m[1]}${m[2]!.slice(0, 12)}` : d;
}

export function isoTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  try {
    return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
  } catch {
    return String(seconds);
  }
}
