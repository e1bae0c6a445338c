// Owns Debian version syntax and ordering: `[epoch:]upstream[-revision]`, compared with
// dpkg's algorithm (lib/dpkg/version.c, verrevcmp): `~` sorts before everything, even
// the end of the string; letters sort before non-letters; digit runs compare numerically.
import { StrataError } from '../errors.js';

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const UPSTREAM_CHARS = /^[A-Za-z0-9.+~:-]+$/;
const REVISION_CHARS = /^[A-Za-z0-9.+~]*$/;

/** Parses a version; undefined when it is not a valid Debian version. */
export function tryParseVersion(text: string): DebianVersion | undefined {
  const s = text.trim();
  if (s === '' || /\s/.test(s)) return undefined;
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (!/^[0-9]+$/.test(e)) return undefined;
    epoch = Number(e);
    if (!Number.isSafeInteger(epoch) || epoch > 2147483647) return undefined;
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (upstream === '' || !UPSTREAM_CHARS.test(upstream)) return undefined;
  if (dash >= 0 && (revision === '' || !REVISION_CHARS.test(revision))) return undefined;
  return { epoch, upstream, revision };
}

export function parseVersion(text: string, context = 'version'): DebianVersion {
  const v = tryParseVersion(text);
  if (v === undefined) throw new StrataError('INDEX_INVALID', `${context}: ${JSON.stringify(text)} is not a valid Debian version`);
  return v;
}

function order(code: number): number {
  if (Number.isNaN(code)) return 0; // end of string
  if (code >= 0x30 && code <= 0x39) return 0;
  if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return code;
  if (code === 0x7e /* ~ */) return -1;
  return code + 256;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** dpkg's verrevcmp on one part (upstream or revision). */
export function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 0x30) i++;
    while (b.charCodeAt(j) === 0x30) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

export function compareParsedVersions(a: DebianVersion, b: DebianVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const u = compareFragment(a.upstream, b.upstream);
  if (u !== 0) return Math.sign(u);
  return Math.sign(compareFragment(a.revision, b.revision));
}

const parsedCache = new Map<string, DebianVersion>();

function cachedParse(text: string): DebianVersion {
  let v = parsedCache.get(text);
  if (v === undefined) {
    v = parseVersion(text);
    if (parsedCache.size > 100_000) parsedCache.clear();
    parsedCache.set(text, v);
  }
  return v;
}

/** Compares two version strings: negative, zero or positive, like dpkg --compare-versions. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  return compareParsedVersions(cachedParse(a), cachedParse(b));
}

export type VersionOperator = '<<' | '<=' | '=' | '>=' | '>>';

export function satisfiesVersion(version: string, op: VersionOperator, wanted: string): boolean {
  const c = compareVersions(version, wanted);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}
