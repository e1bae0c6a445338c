// Owns `Packages` indexes: the fast, strict, streaming parser that turns an index into
// PackageRecords (only the fields strata uses; relation fields stay raw text and are
// parsed lazily by the resolver, which touches a few hundred of the ~60,000 stanzas).
import { StrataError } from '../errors.js';
import { isSha256Hex } from '../digest/sha256.js';
import { tryParseVersion } from './version.js';
import { isPackageName } from './relation.js';

export type MultiArch = 'no' | 'same' | 'foreign' | 'allowed';

export interface PackageRecord {
  name: string;
  version: string;
  architecture: string;
  multiArch: MultiArch;
  essential: boolean;
  priority: string;
  section: string;
  source: string;
  sourceVersion: string;
  depends: string;
  preDepends: string;
  recommends: string;
  suggests: string;
  provides: string;
  conflicts: string;
  breaks: string;
  replaces: string;
  filename: string;
  size: number;
  sha256: string;
  installedSize: number;
}

const FIELD_NAME = /^[!-9;-~]+$/;

/**
 * Field names seen in Debian's indexes, exact case. A known name skips the syntax check
 * and the case folding, which is most of the parser's time on a 50 MB index.
 */
const KNOWN_FIELDS = [
  'Package', 'Version', 'Installed-Size', 'Maintainer', 'Architecture', 'Depends', 'Pre-Depends', 'Description',
  'Homepage', 'Description-md5', 'Tag', 'Section', 'Priority', 'Filename', 'Size', 'MD5sum', 'SHA256', 'Source',
  'Multi-Arch', 'Provides', 'Breaks', 'Replaces', 'Conflicts', 'Recommends', 'Suggests', 'Enhances', 'Essential',
  'Built-Using', 'Static-Built-Using', 'Protected', 'Important', 'Ruby-Versions', 'Go-Import-Path', 'Lua-Versions',
  'Python-Version', 'Python3-Version', 'Original-Maintainer', 'Build-Essential', 'Cnf-Extra-Commands',
  'Cnf-Visible-Pkgname', 'Cnf-Priority-Bonus', 'Cnf-Ignore-Commands', 'Gstreamer-Version', 'Gstreamer-Elements',
  'Gstreamer-Uri-Sources', 'Gstreamer-Uri-Sinks', 'Gstreamer-Encoders', 'Gstreamer-Decoders', 'Postgresql-Catversion',
  'Efi-Vendor', 'Xul-Appid', 'Ghc-Package', 'Build-Ids', 'Auto-Built-Package', 'Javascript-Built-Using',
  'X-Cargo-Built-Using', 'Built-For-Profiles', 'Breaks-Ruby', 'Dbgsym-Of', 'Bugs', 'Origin', 'Nodejs-Version',
];

/** Known names by their lower-case form, for the rare field written in another case. */
const FIELD_ID_LOWER = new Map<string, number>(KNOWN_FIELDS.map((name, i) => [name.toLowerCase(), i]));
const F = Object.fromEntries(KNOWN_FIELDS.map((name, i) => [name, i])) as Record<string, number>;
/** Fields whose continuation lines are kept (folded relation fields). */
const KEEP_CONTINUATION = new Uint8Array(KNOWN_FIELDS.length);
for (const name of ['Depends', 'Pre-Depends', 'Recommends', 'Suggests', 'Provides', 'Conflicts', 'Breaks', 'Replaces']) {
  KEEP_CONTINUATION[F[name]!] = 1;
}

/** Fields whose values go into a PackageRecord; the others are only checked (syntax, no duplicates). */
const USED = new Uint8Array(KNOWN_FIELDS.length);
for (const name of [
  'Package', 'Version', 'Architecture', 'Multi-Arch', 'Essential', 'Priority', 'Section', 'Source', 'Depends', 'Pre-Depends',
  'Recommends', 'Suggests', 'Provides', 'Conflicts', 'Breaks', 'Replaces', 'Filename', 'Size', 'SHA256', 'Installed-Size',
]) {
  USED[F[name]!] = 1;
}

/**
 * Exact-case lookup of a known field name at a position in the text, without slicing it out:
 * candidates are chained by (first character, length) and confirmed with startsWith. Most
 * lines of an index start with one of a dozen names, so this is most of the parser's work.
 */
const DISPATCH_LEN = 32;
const DISPATCH = new Int16Array(128 * DISPATCH_LEN).fill(-1);
const DISPATCH_NEXT = new Int16Array(KNOWN_FIELDS.length).fill(-1);
for (let id = KNOWN_FIELDS.length - 1; id >= 0; id--) {
  const name = KNOWN_FIELDS[id]!;
  if (name.length >= DISPATCH_LEN) continue;
  const slot = (name.charCodeAt(0) & 0x7f) * DISPATCH_LEN + name.length;
  DISPATCH_NEXT[id] = DISPATCH[slot]!;
  DISPATCH[slot] = id;
}

function knownFieldAt(buf: string, start: number, length: number, first: number): number {
  if (length >= DISPATCH_LEN || first >= 128) return -1;
  for (let id = DISPATCH[first * DISPATCH_LEN + length]!; id >= 0; id = DISPATCH_NEXT[id]!) {
    if (buf.startsWith(KNOWN_FIELDS[id]!, start)) return id;
  }
  return -1;
}

function valueOf(buf: string, from: number, end: number): string {
  while (from < end && (buf.charCodeAt(from) === 0x20 || buf.charCodeAt(from) === 0x09)) from++;
  while (end > from && (buf.charCodeAt(end - 1) === 0x20 || buf.charCodeAt(end - 1) === 0x09)) end--;
  return buf.slice(from, end);
}

/**
 * A push parser: feed decoded text in any chunking, then call end(). It keeps one partial
 * line between chunks, so memory stays bounded by the records it returns.
 */
export class PackagesParser {
  readonly records: PackageRecord[] = [];
  private readonly source: string;
  private pending = '';
  private line = 0;
  private inStanza = false;
  /** seenIn[fieldId] === stanza number ⇔ the field occurred in the current stanza. */
  private readonly seenIn = new Int32Array(KNOWN_FIELDS.length).fill(-1);
  private readonly values: string[] = new Array<string>(KNOWN_FIELDS.length).fill('');
  private readonly seenOther = new Set<string>();
  private stanza = 0;
  private stanzaLine = 0;
  /** The field a continuation line continues: a known id, -2 for an unknown field, -1 for none. */
  private lastId = -1;

  private readonly onRecord: ((record: PackageRecord) => void) | undefined;

  /** With `onRecord`, each record goes there as its stanza ends instead of into `records`. */
  constructor(source: string, onRecord?: (record: PackageRecord) => void) {
    this.source = source;
    this.onRecord = onRecord;
  }

  private fail(why: string, line = this.line): never {
    throw new StrataError('INDEX_INVALID', `${this.source} line ${line}: ${why}`, {
      detail: { source: this.source, line },
      hint: 'the index is corrupt or not a Packages file; check the mirror URL, then retry',
    });
  }

  write(text: string): void {
    let start = 0;
    if (this.pending !== '') {
      // Finish the carried-over line on its own: prepending it to the whole chunk would make
      // V8 copy the chunk into a new flat string before the first search.
      const nl = text.indexOf('\n');
      if (nl < 0) {
        this.pending += text;
        return;
      }
      const line = this.pending + text.slice(0, nl);
      this.pending = '';
      this.onLine(line, 0, line.length);
      start = nl + 1;
    }
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.onLine(text, start, nl);
      start = nl + 1;
    }
    this.pending = start === 0 ? text : text.slice(start);
  }

  end(): PackageRecord[] {
    if (this.pending !== '') {
      this.onLine(this.pending, 0, this.pending.length);
      this.pending = '';
    }
    this.finishStanza();
    return this.records;
  }

  private onLine(buf: string, start: number, end: number): void {
    this.line++;
    if (end > start && buf.charCodeAt(end - 1) === 13) end--;
    if (start === end) {
      this.finishStanza();
      return;
    }
    const c = buf.charCodeAt(start);
    if (c === 0x20 || c === 0x09) {
      if (this.lastId === -1) this.fail('continuation line outside a field');
      if (this.lastId >= 0 && KEEP_CONTINUATION[this.lastId] === 1) {
        this.values[this.lastId] = `${this.values[this.lastId]} ${valueOf(buf, start, end)}`;
      }
      return;
    }
    const colon = buf.indexOf(':', start);
    if (colon <= start || colon >= end) {
      if (buf.slice(start, end).trim() === '') {
        this.finishStanza();
        return;
      }
      this.fail(`expected "Field: value", found ${JSON.stringify(buf.slice(start, Math.min(end, start + 60)))}`);
    }
    if (!this.inStanza) {
      this.inStanza = true;
      this.stanza++;
      if (this.seenOther.size > 0) this.seenOther.clear();
      this.stanzaLine = this.line;
    }
    let id = knownFieldAt(buf, start, colon - start, c);
    if (id < 0) {
      const name = buf.slice(start, colon);
      const key = name.toLowerCase();
      const known = FIELD_ID_LOWER.get(key);
      if (known === undefined) {
        if (!FIELD_NAME.test(name) || c === 0x2d || c === 0x23) this.fail(`invalid field name ${JSON.stringify(name)}`);
        if (this.seenOther.has(key)) this.fail(`field ${name} appears twice in one stanza`);
        this.seenOther.add(key);
        this.lastId = -2;
        return;
      }
      id = known;
    }
    if (this.seenIn[id] === this.stanza) this.fail(`field ${buf.slice(start, colon)} appears twice in one stanza`);
    this.seenIn[id] = this.stanza;
    this.lastId = id;
    if (USED[id] === 1) this.values[id] = valueOf(buf, colon + 1, end);
  }

  private get(id: number): string {
    return this.seenIn[id] === this.stanza ? this.values[id]! : '';
  }

  private finishStanza(): void {
    this.lastId = -1;
    if (!this.inStanza) return;
    this.inStanza = false;
    const at = this.stanzaLine;
    const name = this.get(F.Package!);
    const version = this.get(F.Version!);
    if (!isPackageName(name)) this.fail(`stanza without a valid Package field (${JSON.stringify(name)})`, at);
    if (tryParseVersion(version) === undefined) this.fail(`${name}: invalid Version ${JSON.stringify(version)}`, at);
    const architecture = this.get(F.Architecture!);
    if (architecture === '') this.fail(`${name}: no Architecture field`, at);
    const filename = this.get(F.Filename!);
    if (filename === '' || filename.charCodeAt(0) === 0x2f || filename.includes('..')) {
      if (filename === '' || filename.startsWith('/') || filename.split('/').includes('..')) {
        this.fail(`${name}: missing or unsafe Filename ${JSON.stringify(filename)}`, at);
      }
    }
    const sizeText = this.get(F.Size!);
    if (!/^[0-9]+$/.test(sizeText)) this.fail(`${name}: Size is ${JSON.stringify(sizeText)}, not a number`, at);
    const sha256 = this.get(F.SHA256!);
    if (!isSha256Hex(sha256)) this.fail(`${name}: no valid SHA256 field`, at);
    const installedText = this.get(F['Installed-Size']!);
    if (installedText !== '' && !/^[0-9]+$/.test(installedText)) this.fail(`${name}: Installed-Size is ${JSON.stringify(installedText)}`, at);
    const multiArch = this.get(F['Multi-Arch']!) || 'no';
    if (multiArch !== 'no' && multiArch !== 'same' && multiArch !== 'foreign' && multiArch !== 'allowed') {
      this.fail(`${name}: Multi-Arch is ${JSON.stringify(multiArch)}`, at);
    }
    let source = name;
    let sourceVersion = version;
    const sourceText = this.get(F.Source!);
    if (sourceText !== '') {
      const m = /^([a-z0-9][a-z0-9+.-]+)(?:\s*\(([^)\s]+)\))?$/.exec(sourceText);
      if (m === null) this.fail(`${name}: Source is ${JSON.stringify(sourceText)}`, at);
      source = m![1]!;
      if (m![2] !== undefined) sourceVersion = m![2];
    }
    const record: PackageRecord = {
      name,
      version,
      architecture,
      multiArch,
      essential: this.get(F.Essential!) === 'yes',
      priority: this.get(F.Priority!),
      section: this.get(F.Section!),
      source,
      sourceVersion,
      depends: this.get(F.Depends!),
      preDepends: this.get(F['Pre-Depends']!),
      recommends: this.get(F.Recommends!),
      suggests: this.get(F.Suggests!),
      provides: this.get(F.Provides!),
      conflicts: this.get(F.Conflicts!),
      breaks: this.get(F.Breaks!),
      replaces: this.get(F.Replaces!),
      filename,
      size: Number(sizeText),
      sha256,
      installedSize: installedText === '' ? 0 : Number(installedText),
    };
    if (this.onRecord !== undefined) this.onRecord(record);
    else this.records.push(record);
  }
}

/** Parses a whole decompressed index held in memory. */
export function parsePackagesIndex(text: string, source: string): PackageRecord[] {
  const parser = new PackagesParser(source);
  parser.write(text);
  return parser.end();
}

/**
 * Decodes index bytes as latin1, one char per byte. It is several times faster than UTF-8
 * for V8 (one-byte strings), and safe: every field strata keeps is ASCII by its syntax and
 * checked as such (names, versions, relations, file names, hashes); only free text such as
 * Maintainer or Description holds UTF-8, and those fields are skipped.
 */
export function decodeIndexChunk(chunk: Uint8Array): string {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
}

/** Parses a decompressed index from a byte stream, chunk by chunk. */
export async function parsePackagesStream(chunks: AsyncIterable<Uint8Array>, source: string): Promise<PackageRecord[]> {
  const parser = new PackagesParser(source);
  for await (const chunk of chunks) parser.write(decodeIndexChunk(chunk));
  return parser.end();
}
