// Owns comparing two scanned layers entry by entry: the first position where the tar streams
// differ (and which header field), entries in another order, entries added, removed or
// changed (field by field, each with its cause class), and — when the tars are the same —
// which gzip header field or deflate stream makes the compressed bytes differ.
import { gzipHeaderDifferences } from '../archive/gzip-header.js';
import { isoTime, type Cause, type Difference } from './difference.js';
import type { EntryRecord, LayerScan } from './layer-scan.js';

export interface FieldDifference {
  field: string;
  a: string;
  b: string;
  cause: Cause;
}

export interface EntryDifference {
  path: string;
  fields: FieldDifference[];
}

export interface LayerComparison {
  sameDiffId: boolean;
  /** Header fields of the gzip members that differ (compressed layers only). */
  gzip: Array<{ field: string; a: string; b: string }>;
  entries: { a: number; b: number };
  /** The first position, in stream order, where the tars differ. */
  first?: { position: number; a?: string; b?: string; fields: FieldDifference[] };
  /** Set when both tars hold the same paths in another order: the first position out of place. */
  reordered?: { position: number; a: string; b: string };
  changed: EntryDifference[];
  added: string[];
  removed: string[];
  /** The entries are equal but the tars are not: padding or what follows the end marker. */
  trailing: boolean;
  errors: { a?: string; b?: string };
}

/** ustar header field at a byte offset of the 512-byte block (POSIX 1003.1-1988 layout). */
const USTAR_FIELDS: Array<[number, string]> = [
  [0, 'name'], [100, 'mode'], [108, 'uid'], [116, 'gid'], [124, 'size'], [136, 'mtime'], [148, 'chksum'], [156, 'typeflag'],
  [157, 'linkname'], [257, 'magic'], [263, 'version'], [265, 'uname'], [297, 'gname'], [329, 'devmajor'], [337, 'devminor'], [345, 'prefix'], [500, 'padding'],
];

function ustarField(offset: number): string {
  let name = 'name';
  for (const [at, n] of USTAR_FIELDS) if (offset >= at) name = n;
  return name;
}

const octal = (n: number) => `0${n.toString(8)}`;

function paxCause(key: string): Cause {
  if (key === 'mtime' || key === 'atime' || key === 'ctime' || key.endsWith('.ctime') || key.endsWith('.atime')) return 'timestamp';
  if (key === 'uid' || key === 'gid' || key === 'uname' || key === 'gname') return 'ownership';
  return 'metadata';
}

/** The fields in which two records of the same path differ, in header order. */
export function entryFieldDifferences(a: EntryRecord, b: EntryRecord): FieldDifference[] {
  const out: FieldDifference[] = [];
  const add = (field: string, x: string, y: string, cause: Cause) => {
    if (x !== y) out.push({ field, a: x, b: y, cause });
  };
  add('type', a.type, b.type, 'metadata');
  add('mode', octal(a.mode), octal(b.mode), 'metadata');
  add('uid', String(a.uid), String(b.uid), 'ownership');
  add('gid', String(a.gid), String(b.gid), 'ownership');
  add('uname', a.uname, b.uname, 'ownership');
  add('gname', a.gname, b.gname, 'ownership');
  if (a.mtime !== b.mtime) out.push({ field: 'mtime', a: `${a.mtime} (${isoTime(a.mtime)})`, b: `${b.mtime} (${isoTime(b.mtime)})`, cause: 'timestamp' });
  add('link target', a.linkname, b.linkname, 'metadata');
  add('size', String(a.size), String(b.size), 'content');
  if (a.size === b.size) add('content', a.content, b.content, 'content');
  for (const k of [...new Set([...Object.keys(a.xattrs), ...Object.keys(b.xattrs)])].sort()) add(`xattr ${k}`, a.xattrs[k] ?? '(none)', b.xattrs[k] ?? '(none)', 'metadata');
  for (const k of [...new Set([...Object.keys(a.pax), ...Object.keys(b.pax)])].sort()) add(`pax ${k}`, a.pax[k] ?? '(none)', b.pax[k] ?? '(none)', paxCause(k));
  if (out.length === 0 && !a.header.equals(b.header)) {
    if (a.header.length !== b.header.length) {
      out.push({ field: 'tar header encoding', a: `${a.header.length / 512} header blocks`, b: `${b.header.length / 512} header blocks`, cause: 'metadata' });
    } else {
      let i = 0;
      while (a.header[i] === b.header[i]) i++;
      const blockStart = a.header.length - 512;
      const field = i >= blockStart ? `ustar ${ustarField(i - blockStart)}` : 'extension header';
      out.push({ field: `tar header encoding (${field})`, a: a.header.subarray(i, i + 8).toString('hex'), b: b.header.subarray(i, i + 8).toString('hex'), cause: 'metadata' });
    }
  }
  return out;
}

function sameRecord(a: EntryRecord, b: EntryRecord): boolean {
  return a.path === b.path && a.content === b.content && a.header.equals(b.header);
}

export function compareLayerScans(a: LayerScan, b: LayerScan): LayerComparison {
  const cmp: LayerComparison = {
    sameDiffId: a.diffId !== undefined && a.diffId === b.diffId,
    gzip: a.gzip !== undefined && b.gzip !== undefined ? gzipHeaderDifferences(a.gzip, b.gzip) : [],
    entries: { a: a.entries.length, b: b.entries.length },
    changed: [],
    added: [],
    removed: [],
    trailing: false,
    errors: {},
  };
  if (a.error !== undefined) cmp.errors.a = a.error;
  if (b.error !== undefined) cmp.errors.b = b.error;
  const n = Math.max(a.entries.length, b.entries.length);
  for (let i = 0; i < n; i++) {
    const x = a.entries[i];
    const y = b.entries[i];
    if (x !== undefined && y !== undefined && sameRecord(x, y)) continue;
    const first: NonNullable<LayerComparison['first']> = { position: i, fields: x !== undefined && y !== undefined && x.path === y.path ? entryFieldDifferences(x, y) : [] };
    if (x !== undefined) first.a = x.path;
    if (y !== undefined) first.b = y.path;
    cmp.first = first;
    break;
  }
  const byPathA = new Map(a.entries.map((e) => [e.path, e]));
  const byPathB = new Map(b.entries.map((e) => [e.path, e]));
  for (const e of a.entries) {
    const other = byPathB.get(e.path);
    if (other === undefined) cmp.removed.push(e.path);
    else {
      const fields = entryFieldDifferences(e, other);
      if (fields.length > 0) cmp.changed.push({ path: e.path, fields });
    }
  }
  for (const e of b.entries) if (!byPathA.has(e.path)) cmp.added.push(e.path);
  if (cmp.first !== undefined && cmp.first.a !== cmp.first.b && cmp.added.length === 0 && cmp.removed.length === 0 && a.entries.length === b.entries.length) {
    cmp.reordered = { position: cmp.first.position, a: cmp.first.a!, b: cmp.first.b! };
  }
  if (cmp.first === undefined && !cmp.sameDiffId && a.error === undefined && b.error === undefined) cmp.trailing = true;
  return cmp;
}

export interface LayerNaming {
  /** "layer 3 (libfix6)" */
  where: string;
  platform?: string;
  /** How many entry differences of one field to spell out before summarising. */
  examples?: number;
}

/**
 * The differences of one layer pair, explained: integrity and decompression failures, the
 * compressor-only case, ordering, then one difference per differing field (the first entry
 * with it, and how many entries share it), then entries added and removed.
 */
export function layerDifferences(cmp: LayerComparison, naming: LayerNaming): Difference[] {
  const out: Difference[] = [];
  const base = { level: 'layer' as const, ...(naming.platform !== undefined ? { platform: naming.platform } : {}) };
  const where = naming.where;
  for (const side of ['a', 'b'] as const) {
    const err = cmp.errors[side];
    if (err !== undefined) out.push({ ...base, where, field: 'decompression', cause: 'integrity', explanation: `${side === 'a' ? 'the first' : 'the second'} image's ${where} cannot be read to the end (${err}); entries after the damage are not compared` });
  }
  const damaged = cmp.errors.a !== undefined || cmp.errors.b !== undefined;
  if (cmp.sameDiffId) {
    if (cmp.gzip.length > 0) {
      for (const g of cmp.gzip) {
        const cause: Cause = g.field === 'MTIME' ? 'timestamp' : 'compressor';
        const shown = (v: string) => (g.field === 'MTIME' && /^[0-9]+$/.test(v) ? `${v}${v === '0' ? ' (none)' : ` (${isoTime(Number(v))})`}` : v);
        out.push({
          ...base,
          where,
          field: `gzip ${g.field}`,
          a: shown(g.a),
          b: shown(g.b),
          cause,
          explanation: `the tar inside is the same (same DiffID); only the gzip header's ${g.field} differs${g.field === 'MTIME' ? ': a compressor wrote the time of compression into the header' : ''}`,
        });
      }
    } else {
      out.push({ ...base, where, field: 'deflate stream', cause: 'compressor', explanation: 'the tar inside is the same (same DiffID) but the deflate stream differs: another compressor, level, chunking or zlib build' });
    }
    return out;
  }
  if (cmp.reordered !== undefined && !damaged) {
    const r = cmp.reordered;
    out.push({
      ...base,
      where,
      field: 'entry order',
      a: r.a,
      b: r.b,
      cause: 'ordering',
      explanation: `the same ${cmp.entries.a} entries in another order; the first out of place is at position ${r.position}: ${r.a} in the first, ${r.b} in the second (file-system order instead of sorted by path bytes?)`,
    });
  }
  const byField = new Map<string, { first: EntryDifference; field: ReturnType<typeof entryFieldDifferences>[number]; count: number }>();
  for (const c of cmp.changed) {
    for (const f of c.fields) {
      const key = f.field.startsWith('tar header encoding') ? 'tar header encoding' : f.field;
      const seen = byField.get(key);
      if (seen === undefined) byField.set(key, { first: c, field: f, count: 1 });
      else seen.count++;
    }
  }
  for (const [, { first, field, count }] of byField) {
    out.push({
      ...base,
      where: `${where}: ${first.path}`,
      field: field.field,
      a: field.a,
      b: field.b,
      cause: field.cause,
      explanation: `${count === 1 ? 'this entry differs' : `${count} entries differ`} in ${field.field}${count > 1 ? `; the first is ${first.path}` : ''}`,
    });
  }
  if (cmp.removed.length > 0 && !damaged) out.push({ ...base, where: `${where}: ${cmp.removed[0]}`, field: 'entry', a: 'present', b: 'absent', cause: 'content', explanation: `${cmp.removed.length} entr${cmp.removed.length === 1 ? 'y is' : 'ies are'} only in the first image's layer` });
  if (cmp.added.length > 0 && !damaged) out.push({ ...base, where: `${where}: ${cmp.added[0]}`, field: 'entry', a: 'absent', b: 'present', cause: 'content', explanation: `${cmp.added.length} entr${cmp.added.length === 1 ? 'y is' : 'ies are'} only in the second image's layer` });
  if (cmp.trailing) out.push({ ...base, where, field: 'tar padding', cause: 'metadata', explanation: 'every entry is the same, but the tar streams differ after the last entry (end-of-archive blocks, record padding)' });
  return out;
}
