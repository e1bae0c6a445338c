// Owns the deb822 control-file syntax (Debian Policy §5.1): stanzas of `Field: value`
// lines separated by blank lines, continuation lines starting with a space or tab.
// Strict: a malformed line is an error that names the source and the line number.
import { StrataError, type ErrorCode } from '../errors.js';

/** One paragraph. Keys are lower-cased field names; values keep continuation lines. */
export type Stanza = Map<string, string>;

export interface Deb822Options {
  /** Names the input in error messages (a file name or URL). */
  source: string;
  /** sources.list.d/*.sources files allow `#` comment lines; Packages files do not. */
  allowComments?: boolean;
  /** The error code to raise; defaults to INDEX_INVALID. */
  errorCode?: ErrorCode;
  /** The 1-based line number of the first line, when text is an excerpt. */
  firstLine?: number;
}

const FIELD_NAME = /^[!-9;-~]+$/;

/** Parses a whole deb822 document into stanzas, in document order. */
export function parseDeb822(text: string, options: Deb822Options): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza | undefined;
  let lastKey: string | undefined;
  const lines = text.split('\n');
  const first = options.firstLine ?? 1;
  const fail = (lineIndex: number, why: string): never => {
    throw new StrataError(options.errorCode ?? 'INDEX_INVALID', `${options.source} line ${lineIndex + first}: ${why}`, {
      detail: { source: options.source, line: lineIndex + first },
    });
  };
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      current = undefined;
      lastKey = undefined;
      continue;
    }
    const c = line.charCodeAt(0);
    if (c === 0x23 /* # */ && options.allowComments) continue;
    if (c === 0x20 || c === 0x09) {
      if (current === undefined || lastKey === undefined) fail(i, 'continuation line outside a field');
      const previous = current!.get(lastKey!)!;
      current!.set(lastKey!, `${previous}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) fail(i, `expected "Field: value", found ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon);
    if (!FIELD_NAME.test(name) || c === 0x2d /* - */ || c === 0x23) fail(i, `invalid field name ${JSON.stringify(name)}`);
    const key = name.toLowerCase();
    if (current === undefined) {
      current = new Map();
      stanzas.push(current);
    }
    if (current.has(key)) fail(i, `field ${name} appears twice in one stanza`);
    current.set(key, line.slice(colon + 1).trim());
    lastKey = key;
  }
  return stanzas;
}

/** Splits a folded or multi-line field into its whitespace-separated words. */
export function fieldWords(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(/\s+/).filter((w) => w !== '');
}

/** The lines of a multi-line field after its first line (e.g. the SHA256 list of InRelease). */
export function fieldLines(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== '.');
}
