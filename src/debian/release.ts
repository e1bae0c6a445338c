// Owns the contents of a (verified) Release file: the suite's identity, its dates, and the
// SHA256 list that pins every index. Parse only the text the signature covers.
import { StrataError } from '../errors.js';
import { isSha256Hex, type Sha256Hex } from '../digest/sha256.js';
import { fieldLines, fieldWords, parseDeb822 } from './deb822.js';

export interface IndexEntry {
  path: string;
  sha256: Sha256Hex;
  size: number;
}

export interface ReleaseInfo {
  origin: string;
  label: string;
  suite: string;
  codename: string;
  version: string;
  /** The Date field as written, and as seconds since the epoch. */
  date: string;
  dateEpoch: number;
  validUntil?: string;
  validUntilEpoch?: number;
  architectures: string[];
  components: string[];
  acquireByHash: boolean;
  /** True when arch:all packages are only in the per-architecture indexes. */
  noArchAllIndex: boolean;
  sha256: Map<string, IndexEntry>;
}

/** Parses an RFC 2822 date as used by Release files; seconds since the epoch. */
export function parseReleaseDate(text: string, what: string): number {
  const ms = Date.parse(text.replace(/\bUTC$/, 'GMT'));
  if (!Number.isFinite(ms)) throw new StrataError('RELEASE_INVALID', `${what}: cannot read the date ${JSON.stringify(text)}`);
  return Math.floor(ms / 1000);
}

export function parseRelease(text: string, what: string): ReleaseInfo {
  const stanzas = parseDeb822(text, { source: what, errorCode: 'RELEASE_INVALID' });
  if (stanzas.length !== 1) throw new StrataError('RELEASE_INVALID', `${what}: expected one stanza, found ${stanzas.length}`);
  const s = stanzas[0]!;
  const date = s.get('date');
  if (date === undefined) throw new StrataError('RELEASE_INVALID', `${what}: no Date field`);
  const sha256 = new Map<string, IndexEntry>();
  for (const line of fieldLines(s.get('sha256'))) {
    const [hex, sizeText, path, extra] = line.split(/\s+/);
    if (!isSha256Hex(hex) || !/^[0-9]+$/.test(sizeText ?? '') || path === undefined || extra !== undefined) {
      throw new StrataError('RELEASE_INVALID', `${what}: malformed SHA256 line ${JSON.stringify(line)}`);
    }
    sha256.set(path, { path, sha256: hex, size: Number(sizeText) });
  }
  if (sha256.size === 0) throw new StrataError('RELEASE_INVALID', `${what}: no SHA256 list (strata does not trust MD5 or SHA1 alone)`);
  const info: ReleaseInfo = {
    origin: s.get('origin') ?? '',
    label: s.get('label') ?? '',
    suite: s.get('suite') ?? '',
    codename: s.get('codename') ?? '',
    version: s.get('version') ?? '',
    date,
    dateEpoch: parseReleaseDate(date, what),
    architectures: fieldWords(s.get('architectures')),
    components: fieldWords(s.get('components')),
    acquireByHash: s.get('acquire-by-hash') === 'yes',
    noArchAllIndex: fieldWords(s.get('no-support-for-architecture-all')).includes('Packages'),
    sha256,
  };
  const validUntil = s.get('valid-until');
  if (validUntil !== undefined) {
    info.validUntil = validUntil;
    info.validUntilEpoch = parseReleaseDate(validUntil, what);
  }
  return info;
}
