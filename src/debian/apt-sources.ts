// Owns reading the host's apt sources: deb822 `*.sources` files and one-line `*.list`
// files (sources.list(5)), with their Signed-By keyrings. Only `deb` entries count; files
// with other extensions are ignored, as apt ignores them. The mirror is never hard-coded:
// it comes from here, or from the spec's source.mirror.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { fieldWords, parseDeb822 } from './deb822.js';

export type SignedBy =
  | { kind: 'files'; paths: string[] }
  | { kind: 'inline'; armored: string }
  | { kind: 'fingerprints'; fingerprints: string[] };

export interface AptSource {
  uri: string;
  suite: string;
  components: string[];
  architectures?: string[];
  signedBy?: SignedBy;
  /** "file:line" of the entry, for messages. */
  origin: string;
}

function parseSignedBy(value: string): SignedBy {
  const v = value.trim();
  if (v.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    // deb822 embeds the key with continuation lines; " ." stands for an empty line.
    const armored = v
      .split('\n')
      .map((l) => (l.trim() === '.' ? '' : l.trim()))
      .join('\n');
    return { kind: 'inline', armored: `${armored}\n` };
  }
  const words = v.split(/[\s,]+/).filter((w) => w !== '');
  if (words.every((w) => /^[0-9A-Fa-f]{16,40}!?$/.test(w))) {
    return { kind: 'fingerprints', fingerprints: words.map((w) => w.replace(/!$/, '').toUpperCase()) };
  }
  return { kind: 'files', paths: words };
}

/** Parses one deb822 `.sources` file. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  const stanzas = parseDeb822(text, { source: file, allowComments: true, errorCode: 'APT_SOURCES_INVALID' });
  stanzas.forEach((s, n) => {
    if (s.get('enabled')?.toLowerCase() === 'no') return;
    if (!fieldWords(s.get('types')).includes('deb')) return;
    const uris = fieldWords(s.get('uris'));
    const suites = fieldWords(s.get('suites'));
    const components = fieldWords(s.get('components'));
    if (uris.length === 0 || suites.length === 0) {
      throw new StrataError('APT_SOURCES_INVALID', `${file}: stanza ${n + 1} has no URIs or no Suites`);
    }
    const signedBy = s.get('signed-by');
    const architectures = fieldWords(s.get('architectures'));
    for (const uri of uris) {
      for (const suite of suites) {
        const src: AptSource = { uri, suite, components, origin: `${file} stanza ${n + 1}` };
        if (signedBy !== undefined) src.signedBy = parseSignedBy(signedBy);
        if (architectures.length > 0) src.architectures = architectures;
        out.push(src);
      }
    }
  });
  return out;
}

/** Parses one-line `sources.list` syntax: `deb [opt=val ...] uri suite [component ...]`. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)$/.exec(line);
    if (m === null) throw new StrataError('APT_SOURCES_INVALID', `${file} line ${i + 1}: cannot parse ${JSON.stringify(line)}`);
    if (m[1] !== 'deb') return;
    const src: AptSource = { uri: m[3]!, suite: m[4]!, components: fieldWords(m[5]), origin: `${file} line ${i + 1}` };
    for (const option of fieldWords(m[2])) {
      const eq = option.indexOf('=');
      if (eq < 0) continue;
      const key = option.slice(0, eq).toLowerCase();
      const value = option.slice(eq + 1);
      if (key === 'signed-by') src.signedBy = parseSignedBy(value);
      if (key === 'arch') src.architectures = value.split(',');
    }
    out.push(src);
  });
  return out;
}

const SOURCE_FILE = /^[A-Za-z0-9_.-]+\.(list|sources)$/;

/** Reads every apt source of the host (or of an alternative root, for tests). */
export async function readHostAptSources(etcApt = process.env.STRATA_APT_ETC ?? '/etc/apt'): Promise<AptSource[]> {
  const files: string[] = [join(etcApt, 'sources.list')];
  try {
    const names = (await readdir(join(etcApt, 'sources.list.d'))).filter((n) => SOURCE_FILE.test(n)).sort();
    files.push(...names.map((n) => join(etcApt, 'sources.list.d', n)));
  } catch {
    // no sources.list.d
  }
  const out: AptSource[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    out.push(...(file.endsWith('.sources') ? parseDeb822Sources(text, file) : parseOneLineSources(text, file)));
  }
  return out;
}

/** The keyrings apt trusts when a source has no Signed-By. */
export async function defaultTrustedKeyrings(etcApt = process.env.STRATA_APT_ETC ?? '/etc/apt'): Promise<string[]> {
  const out: string[] = [];
  const legacy = join(etcApt, 'trusted.gpg');
  try {
    await readFile(legacy);
    out.push(legacy);
  } catch {
    // none
  }
  try {
    const dir = join(etcApt, 'trusted.gpg.d');
    const names = (await readdir(dir)).filter((n) => /^[A-Za-z0-9_.-]+\.(gpg|asc)$/.test(n)).sort();
    out.push(...names.map((n) => join(dir, n)));
  } catch {
    // none
  }
  return out;
}
