// Owns reading a package's licences from /usr/share/doc/<package>/copyright when it is
// machine-readable (DEP-5, "copyright-format/1.0": a first stanza with `Format:`, then
// `Files:` stanzas, each with a `License:` whose first line is a short name or an expression
// such as `GPL-2+ or Artistic`). Free-form copyright files yield no licence: guessing from
// prose is not something a reproducible SBOM should do. Pure.
import { parseDeb822, type Stanza } from './deb822.js';

export interface CopyrightLicenses {
  machineReadable: boolean;
  /** The distinct `License:` short lines, in order of first appearance. */
  licenses: string[];
}

export function parseCopyrightLicenses(text: string): CopyrightLicenses {
  const first = text.replace(/^\uFEFF/, '').split('\n', 1)[0] ?? '';
  if (!/^Format:\s*\S*copyright-format/i.test(first)) return { machineReadable: false, licenses: [] };
  let stanzas: Stanza[];
  try {
    stanzas = parseDeb822(text, { source: 'copyright', allowComments: true });
  } catch {
    return { machineReadable: false, licenses: [] };
  }
  const out: string[] = [];
  for (const [i, s] of stanzas.entries()) {
    const license = s.get('license');
    // Stand-alone licence paragraphs (License: without Files:) only carry the text.
    if (license === undefined || (i > 0 && !s.has('files'))) continue;
    const short = license.split('\n', 1)[0]!.trim();
    if (short !== '' && !out.includes(short)) out.push(short);
  }
  return { machineReadable: true, licenses: out };
}
