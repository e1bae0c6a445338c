// Owns one parsed Packages index in memory and its on-disk cache form. The cache is keyed
// by the index's sha256 (so it can never be stale) and laid out for a fast warm start:
// a small header (name, offset, provided names per record) parsed eagerly, and a body of
// one JSON array per record decoded only when the resolver asks for that package.
//
//   strata-index 1\n
//   <count>\n
//   <name>\t<offset>\t<provided,names>\n     × count  (offset into the body)
//   <body: one JSON array per line, fields in RECORD_FIELDS order>
import type { PackageRecord } from './package-index.js';

const MAGIC = 'strata-index 1';

const RECORD_FIELDS = [
  'name', 'version', 'architecture', 'multiArch', 'essential', 'priority', 'section', 'source', 'sourceVersion',
  'depends', 'preDepends', 'recommends', 'suggests', 'provides', 'conflicts', 'breaks', 'replaces', 'filename',
  'size', 'sha256', 'installedSize',
] as const satisfies ReadonlyArray<keyof PackageRecord>;

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

export class PackageIndex {
  private readonly names: string[];
  private readonly records: Array<PackageRecord | undefined>;
  private readonly body: string | undefined;
  private readonly offsets: Int32Array | undefined;
  private readonly byName = new Map<string, number[]>();
  private readonly byProvided = new Map<string, number[]>();

  private constructor(names: string[], provided: string[][], records: Array<PackageRecord | undefined>, body?: string, offsets?: Int32Array) {
    this.names = names;
    this.records = records;
    this.body = body;
    this.offsets = offsets;
    for (let i = 0; i < names.length; i++) {
      const list = this.byName.get(names[i]!);
      if (list === undefined) this.byName.set(names[i]!, [i]);
      else list.push(i);
      for (const p of provided[i]!) {
        const pl = this.byProvided.get(p);
        if (pl === undefined) this.byProvided.set(p, [i]);
        else pl.push(i);
      }
    }
  }

  static fromRecords(records: PackageRecord[]): PackageIndex {
    return new PackageIndex(
      records.map((r) => r.name),
      records.map((r) => providedNames(r.provides)),
      records,
    );
  }

  get size(): number {
    return this.names.length;
  }

  private record(i: number): PackageRecord {
    let r = this.records[i];
    if (r === undefined) {
      const start = this.offsets![i]!;
      const end = i + 1 < this.offsets!.length ? this.offsets![i + 1]! - 1 : this.body!.length;
      const values = JSON.parse(this.body!.slice(start, end)) as unknown[];
      const rec: Record<string, unknown> = {};
      RECORD_FIELDS.forEach((f, k) => (rec[f] = values[k]));
      r = rec as unknown as PackageRecord;
      this.records[i] = r;
    }
    return r;
  }

  /** Every record named `name` (several versions or architectures may exist). */
  get(name: string): PackageRecord[] {
    return (this.byName.get(name) ?? []).map((i) => this.record(i));
  }

  /** Every record whose Provides names `name`. */
  providers(name: string): PackageRecord[] {
    return (this.byProvided.get(name) ?? []).map((i) => this.record(i));
  }

  hasName(name: string): boolean {
    return this.byName.has(name) || this.byProvided.has(name);
  }

  allNames(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** Serialises to the cache form described at the top of this file. */
  serialise(): string {
    const lines: string[] = [];
    let offset = 0;
    const header: string[] = [MAGIC, String(this.names.length)];
    for (let i = 0; i < this.names.length; i++) {
      const r = this.record(i);
      const line = JSON.stringify(RECORD_FIELDS.map((f) => r[f]));
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
    const provided: string[][] = new Array(count);
    const offsets = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const end = text.indexOf('\n', pos);
      if (end < 0) return undefined;
      const t1 = text.indexOf('\t', pos);
      const t2 = text.indexOf('\t', t1 + 1);
      if (t1 < 0 || t2 < 0 || t2 > end) return undefined;
      names[i] = text.slice(pos, t1);
      offsets[i] = Number(text.slice(t1 + 1, t2));
      provided[i] = t2 + 1 === end ? [] : text.slice(t2 + 1, end).split(',');
      pos = end + 1;
    }
    const body = text.slice(pos);
    if (count > 0 && offsets[count - 1]! >= body.length) return undefined;
    return new PackageIndex(names, provided, new Array(count), body, offsets);
  }
}
