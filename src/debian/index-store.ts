// Owns one parsed Packages index in memory and its on-disk cache form. The cache is keyed
// by the index's sha256 (so it can never be stale) and laid out for a fast warm start:
// a small header (name, offset, provided names per record) parsed eagerly, and a body of
// one line per record decoded only when the resolver asks for that package.
//
//   strata-index 2\n
//   <count>\n
//   <name>\t<offset>\t<provided,names>\n     × count  (offset into the body)
//   <body: one line per record: its fields in RECORD_FIELDS order, separated by tabs>
//
// A record line needs no escaping: every kept value is one line without tabs (the parser
// folds continuation lines with spaces and turns tabs into spaces); `essential` is 1 or
// empty, the sizes are decimal. Writing it is plain string joining, several times cheaper
// than JSON for the 60,000 records of a cold parse.
import type { PackageRecord } from './package-index.js';

const MAGIC = 'strata-index 2';

const RECORD_FIELDS = [
  'name', 'version', 'architecture', 'multiArch', 'essential', 'priority', 'section', 'source', 'sourceVersion',
  'depends', 'preDepends', 'recommends', 'suggests', 'provides', 'conflicts', 'breaks', 'replaces', 'filename',
  'size', 'sha256', 'installedSize',
] as const satisfies ReadonlyArray<keyof PackageRecord>;

/** A record's values in RECORD_FIELDS order (spelt out: much faster than a keyed lookup per field). */
export function recordValues(r: PackageRecord): unknown[] {
  return [
    r.name, r.version, r.architecture, r.multiArch, r.essential, r.priority, r.section, r.source, r.sourceVersion,
    r.depends, r.preDepends, r.recommends, r.suggests, r.provides, r.conflicts, r.breaks, r.replaces, r.filename,
    r.size, r.sha256, r.installedSize,
  ];
}

const noTab = (v: string) => (v.includes('\t') ? v.replace(/\t/g, ' ') : v);

/** A record's cache line: its values in RECORD_FIELDS order, tab-separated (see the top of the file). */
export function recordLine(r: PackageRecord): string {
  return `${noTab(r.name)}\t${noTab(r.version)}\t${noTab(r.architecture)}\t${r.multiArch}\t${r.essential ? '1' : ''}\t${noTab(r.priority)}\t${noTab(r.section)}\t${noTab(r.source)}\t${noTab(r.sourceVersion)}\t${noTab(r.depends)}\t${noTab(r.preDepends)}\t${noTab(r.recommends)}\t${noTab(r.suggests)}\t${noTab(r.provides)}\t${noTab(r.conflicts)}\t${noTab(r.breaks)}\t${noTab(r.replaces)}\t${noTab(r.filename)}\t${r.size}\t${r.sha256}\t${r.installedSize}`;
}

/** Decodes a cache line back into a record. */
export function recordFromLine(line: string): PackageRecord {
  const v = line.split('\t');
  return {
    name: v[0]!, version: v[1]!, architecture: v[2]!, multiArch: v[3] as PackageRecord['multiArch'], essential: v[4] === '1',
    priority: v[5]!, section: v[6]!, source: v[7]!, sourceVersion: v[8]!, depends: v[9]!, preDepends: v[10]!, recommends: v[11]!,
    suggests: v[12]!, provides: v[13]!, conflicts: v[14]!, breaks: v[15]!, replaces: v[16]!, filename: v[17]!, size: Number(v[18]),
    sha256: v[19]!, installedSize: Number(v[20]),
  };
}

/** For tests: the field order of the cache form. */
export const CACHE_RECORD_FIELDS: ReadonlyArray<keyof PackageRecord> = RECORD_FIELDS;

const NONE: readonly string[] = Object.freeze([]);

/** Names in a Provides field, without versions or qualifiers. */
export function providedNames(provides: string): string[] {
  if (provides === '') return [];
  const out: string[] = [];
  for (const part of provides.split(',')) {
    const name = part.trim().split(/[\s(:]/, 1)[0]!;
    if (name !== '') out.push(name);
  }
  return out;
}

/** Record numbers by name: one number, or several in index order (most names have one). */
type NameMap = Map<string, number | number[]>;

interface IndexParts {
  names: string[];
  records: Array<PackageRecord | undefined>;
  byName: NameMap;
  byProvided: NameMap;
  /** The cache form's body, for an index read from it or built in it; records decode on demand. */
  body?: string;
  offsets?: Int32Array;
  /** Provided names per record, with body, to write the header again. */
  provided?: ReadonlyArray<readonly string[]>;
}

function nameMaps(names: string[], provided: ReadonlyArray<readonly string[]>): { byName: NameMap; byProvided: NameMap } {
  const byName: NameMap = new Map();
  const byProvided: NameMap = new Map();
  for (let i = 0; i < names.length; i++) {
    addTo(byName, names[i]!, i);
    const p = provided[i]!;
    for (let k = 0; k < p.length; k++) addTo(byProvided, p[k]!, i);
  }
  return { byName, byProvided };
}

export class PackageIndex {
  private readonly names: string[];
  private readonly records: Array<PackageRecord | undefined>;
  private readonly body: string | undefined;
  private readonly offsets: Int32Array | undefined;
  private readonly byName: NameMap;
  private readonly byProvided: NameMap;
  private readonly provided: ReadonlyArray<readonly string[]> | undefined;

  private constructor(parts: IndexParts) {
    this.names = parts.names;
    this.records = parts.records;
    this.byName = parts.byName;
    this.byProvided = parts.byProvided;
    this.body = parts.body;
    this.offsets = parts.offsets;
    this.provided = parts.provided;
  }

  static fromRecords(records: PackageRecord[]): PackageIndex {
    const names = records.map((r) => r.name);
    return new PackageIndex({ names, records, ...nameMaps(names, records.map((r) => providedNames(r.provides))) });
  }

  /** For PackageIndexBuilder. */
  static fromBuilt(parts: IndexParts): PackageIndex {
    return new PackageIndex(parts);
  }

  get size(): number {
    return this.names.length;
  }

  private record(i: number): PackageRecord {
    let r = this.records[i];
    if (r === undefined) {
      const start = this.offsets![i]!;
      const end = i + 1 < this.offsets!.length ? this.offsets![i + 1]! - 1 : this.body!.length;
      r = recordFromLine(this.body!.slice(start, end));
      this.records[i] = r;
    }
    return r;
  }

  private recordsAt(at: number | number[] | undefined): PackageRecord[] {
    if (at === undefined) return [];
    if (typeof at === 'number') return [this.record(at)];
    return at.map((i) => this.record(i));
  }

  /** Every record named `name` (several versions or architectures may exist). */
  get(name: string): PackageRecord[] {
    return this.recordsAt(this.byName.get(name));
  }

  /** Every record whose Provides names `name`. */
  providers(name: string): PackageRecord[] {
    return this.recordsAt(this.byProvided.get(name));
  }

  hasName(name: string): boolean {
    return this.byName.has(name) || this.byProvided.has(name);
  }

  allNames(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** The header of the cache form, for an index that holds its body. */
  private headerText(): string {
    const header: string[] = [MAGIC, String(this.names.length)];
    for (let i = 0; i < this.names.length; i++) header.push(`${this.names[i]}\t${this.offsets![i]}\t${this.provided![i]!.join(',')}`);
    return header.join('\n');
  }

  /**
   * The cache form as latin1 bytes, in pieces to write one after the other (no copy of the
   * whole text is made to join them). Same bytes as Buffer.from(serialise(), 'latin1').
   */
  serialiseToBuffers(): Buffer[] {
    if (this.body === undefined) return [Buffer.from(this.serialise(), 'latin1')];
    return [Buffer.from(`${this.headerText()}\n`, 'latin1'), Buffer.from(this.body, 'latin1')];
  }

  /** Serialises to the cache form described at the top of this file. */
  serialise(): string {
    // Read from the cache form (deserialise) or built in it (PackageIndexBuilder): the body is
    // that form already, and undecoded records need not be decoded to be written again.
    if (this.body !== undefined) return `${this.headerText()}\n${this.body}`;
    const lines: string[] = [];
    let offset = 0;
    const header: string[] = [MAGIC, String(this.names.length)];
    for (let i = 0; i < this.names.length; i++) {
      const r = this.record(i);
      const line = recordLine(r);
      header.push(`${r.name}\t${offset}\t${providedNames(r.provides).join(',')}`);
      lines.push(line);
      offset += line.length + 1;
    }
    return `${header.join('\n')}\n${lines.join('\n')}`;
  }

  /** Reads the cache form; undefined when the text is not one (an older format, a torn file). */
  static deserialise(text: string): PackageIndex | undefined {
    if (!text.startsWith(`${MAGIC}\n`)) return undefined;
    let pos = MAGIC.length + 1;
    const nl = text.indexOf('\n', pos);
    const count = Number(text.slice(pos, nl));
    if (!Number.isSafeInteger(count) || count < 0) return undefined;
    pos = nl + 1;
    const names: string[] = new Array(count);
    const provided: Array<readonly string[]> = new Array(count);
    const offsets = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const end = text.indexOf('\n', pos);
      if (end < 0) return undefined;
      const t1 = text.indexOf('\t', pos);
      const t2 = text.indexOf('\t', t1 + 1);
      if (t1 < 0 || t2 < 0 || t2 > end) return undefined;
      names[i] = text.slice(pos, t1);
      offsets[i] = Number(text.slice(t1 + 1, t2));
      provided[i] = t2 + 1 === end ? NONE : text.slice(t2 + 1, end).split(',');
      pos = end + 1;
    }
    const body = text.slice(pos);
    if (count > 0 && offsets[count - 1]! >= body.length) return undefined;
    return new PackageIndex({ names, records: new Array(count), body, offsets, provided, ...nameMaps(names, provided) });
  }
}

/**
 * Builds a PackageIndex straight in its cache form, one record at a time, as the parser
 * finishes each stanza: the records are not kept as objects (a cold parse of a 60,000-record
 * index then allocates little that outlives a stanza), they are decoded again on demand like
 * those of a cached index, and serialise() needs no second pass over them. Produces the
 * same index and the same serialise() text as PackageIndex.fromRecords.
 */
export class PackageIndexBuilder {
  /** Body lines not yet joined; joined in 32 KiB batches so that each line dies young. */
  private lines: string[] = [];
  private batchChars = 0;
  private readonly pieces: string[] = [];
  /**
   * While parsing, only numbers are kept per record (where its line starts, how long its
   * name is): every string kept alive while the parser allocates is copied by each young
   * collection, which made keeping names and maps here cost more than the JSON itself. The
   * names are sliced from the finished body instead, as deserialise does.
   */
  private offsets = new Int32Array(1 << 16);
  private nameLengths = new Int32Array(1 << 16);
  /** Provided names, for the few records with a Provides field. */
  private readonly providing: number[] = [];
  private readonly providedLists: string[][] = [];
  private count = 0;
  private offset = 0;

  add(r: PackageRecord): void {
    const i = this.count++;
    const line = recordLine(r);
    if (i === this.offsets.length) {
      this.offsets = grow(this.offsets);
      this.nameLengths = grow(this.nameLengths);
    }
    this.offsets[i] = this.offset;
    this.nameLengths[i] = r.name.length;
    if (r.provides !== '') {
      const provided = providedNames(r.provides);
      if (provided.length > 0) {
        this.providing.push(i);
        // Copies: the parser's strings are slices of its large input chunks.
        this.providedLists.push(provided.map(detach));
      }
    }
    this.offset += line.length + 1;
    this.lines.push(line);
    this.batchChars += line.length;
    if (this.batchChars >= 1 << 15) this.flush();
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    this.pieces.push(this.lines.join('\n'));
    this.lines = [];
    this.batchChars = 0;
  }

  finish(): PackageIndex {
    this.flush();
    const count = this.count;
    const body = this.pieces.join('\n');
    const offsets = this.offsets.slice(0, count);
    // A name is the first field of its line (isPackageName: no tabs).
    const names = new Array<string>(count);
    for (let i = 0; i < count; i++) names[i] = body.slice(offsets[i]!, offsets[i]! + this.nameLengths[i]!);
    const provided = new Array<readonly string[]>(count).fill(NONE);
    for (let k = 0; k < this.providing.length; k++) provided[this.providing[k]!] = this.providedLists[k]!;
    return PackageIndex.fromBuilt({ names, records: new Array(count), body, offsets, provided, ...nameMaps(names, provided) });
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(a.length * 2);
  grown.set(a);
  return grown;
}

function addTo(map: Map<string, number | number[]>, key: string, i: number): void {
  const at = map.get(key);
  if (at === undefined) map.set(key, i);
  else if (typeof at === 'number') map.set(key, [at, i]);
  else at.push(i);
}

/** The same text, without keeping alive the (large) string it may have been sliced from. */
function detach(s: string): string {
  return s.length < 13 ? s : (` ${s}`).slice(1);
}
