// Owns turning Debian's licence short names (copyright-format/1.0 §7: `GPL-2+`, `Expat`,
// `BSD-3-clause`, `LGPL-2.1+ or Artistic`) into SPDX license expressions. Known names map to
// SPDX identifiers (`+` → `-or-later`, bare versions → `-only` for the GNU family); anything
// else — exceptions, `public-domain`, local names — becomes `LicenseRef-Debian-<name>`, which
// SPDX documents declare in hasExtractedLicensingInfos. Pure and table-driven.

const KNOWN: Record<string, string> = {
  'apache-1.0': 'Apache-1.0',
  'apache-1.1': 'Apache-1.1',
  'apache-2.0': 'Apache-2.0',
  'artistic-1.0': 'Artistic-1.0',
  artistic: 'Artistic-1.0',
  'artistic-2.0': 'Artistic-2.0',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  'bsd-4-clause': 'BSD-4-Clause',
  'bsl-1.0': 'BSL-1.0',
  'cc0-1.0': 'CC0-1.0',
  'cc-by-3.0': 'CC-BY-3.0',
  'cc-by-4.0': 'CC-BY-4.0',
  'cc-by-sa-3.0': 'CC-BY-SA-3.0',
  'cc-by-sa-4.0': 'CC-BY-SA-4.0',
  curl: 'curl',
  expat: 'MIT',
  mit: 'MIT',
  fsfap: 'FSFAP',
  fsful: 'FSFUL',
  fsfullr: 'FSFULLR',
  isc: 'ISC',
  'mpl-1.1': 'MPL-1.1',
  'mpl-2.0': 'MPL-2.0',
  openssl: 'OpenSSL',
  'psf-2': 'PSF-2.0',
  'python-2.0': 'Python-2.0',
  ruby: 'Ruby',
  'sleepycat': 'Sleepycat',
  'unicode-dfs-2016': 'Unicode-DFS-2016',
  x11: 'X11',
  zlib: 'Zlib',
  'zpl-2.1': 'ZPL-2.1',
  'ofl-1.1': 'OFL-1.1',
  'bzip2-1.0.6': 'bzip2-1.0.6',
  'libpng': 'Libpng',
  'libpng-2.0': 'libpng-2.0',
  'tcl': 'TCL',
  'wtfpl': 'WTFPL',
  'unlicense': 'Unlicense',
  'postgresql': 'PostgreSQL',
};

const GNU = /^(a?gpl|lgpl|gfdl)-([0-9](?:\.[0-9])?)(\+)?$/i;

/** One Debian licence name → an SPDX identifier, or a LicenseRef when there is none. */
export function spdxLicenseId(name: string): { id: string; known: boolean } {
  const n = name.trim();
  const lower = n.toLowerCase();
  const known = KNOWN[lower];
  if (known !== undefined) return { id: known, known: true };
  const gnu = GNU.exec(n);
  if (gnu !== null) {
    const family = gnu[1]!.toUpperCase();
    let version = gnu[2]!;
    if (!version.includes('.')) version = `${version}.0`;
    // LGPL 2 is "LGPL-2.0"; GFDL has -only/-or-later too.
    return { id: `${family}-${version}-${gnu[3] ? 'or-later' : 'only'}`, known: true };
  }
  return { id: `LicenseRef-Debian-${n.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unnamed'}`, known: false };
}

export interface SpdxLicense {
  /** The SPDX expression; undefined when the copyright file gave nothing usable. */
  expression: string | undefined;
  /** Every identifier in it, with the Debian name it came from. */
  ids: Array<{ id: string; debian: string; known: boolean }>;
}

/** A DEP-5 `License:` line (`A or B`, `A and B`, `A, and B`, `A with X exception`) → SPDX. */
export function spdxExpressionOf(line: string): SpdxLicense {
  const ids: SpdxLicense['ids'] = [];
  // "with ... exception" binds to the licence before it; keep it as one LicenseRef.
  const words = line.replace(/,/g, ' ').split(/\s+/).filter((w) => w !== '');
  const parts: string[] = [];
  let current: string[] = [];
  const flush = () => {
    if (current.length === 0) return;
    const debian = current.join(' ');
    const { id, known } = spdxLicenseId(debian);
    ids.push({ id, debian, known });
    parts.push(id);
    current = [];
  };
  for (const w of words) {
    const lw = w.toLowerCase();
    if (lw === 'or' || lw === 'and') {
      flush();
      if (parts.length > 0 && !/^(OR|AND)$/.test(parts[parts.length - 1]!)) parts.push(lw.toUpperCase());
    } else current.push(w);
  }
  flush();
  while (parts.length > 0 && /^(OR|AND)$/.test(parts[parts.length - 1]!)) parts.pop();
  return { expression: parts.length > 0 ? parts.join(' ') : undefined, ids };
}

/** Several License lines of one package (all apply) → one expression joined with AND. */
export function combineLicenses(lines: string[]): SpdxLicense {
  const each = lines.map(spdxExpressionOf).filter((l) => l.expression !== undefined);
  if (each.length === 0) return { expression: undefined, ids: [] };
  const unique = [...new Set(each.map((l) => l.expression!))];
  const expression = unique.length === 1 ? unique[0]! : unique.map((e) => (/ OR /.test(e) ? `(${e})` : e)).join(' AND ');
  const ids = new Map<string, SpdxLicense['ids'][number]>();
  for (const l of each) for (const i of l.ids) if (!ids.has(i.id)) ids.set(i.id, i);
  return { expression, ids: [...ids.values()] };
}
