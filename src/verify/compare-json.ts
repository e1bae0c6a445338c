// Owns comparing two JSON documents (index, manifest, config) as stored: equal bytes; equal
// values written differently (keys in another order, other whitespace or escapes); or
// changed values, listed leaf by leaf with a path such as `config.Env.LANG` or
// `history[3].created`. Classifying the changes is the caller's business.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface JsonChange {
  /** Dotted path; array items as [i]. */
  path: string;
  kind: 'changed' | 'added' | 'removed';
  a?: JsonValue;
  b?: JsonValue;
}

export type JsonComparison =
  | { kind: 'identical' }
  /** Same values; keys of the object at `path` come in another order. */
  | { kind: 'key-order'; path: string; a: string[]; b: string[] }
  /** Same values and key order; whitespace, escapes or number spelling differ. */
  | { kind: 'formatting'; offset: number }
  | { kind: 'values'; changes: JsonChange[] };

const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === 'object' && v !== null && !Array.isArray(v);

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Leaf changes from a to b. Object keys are visited in sorted order (deterministic output). */
export function jsonChanges(a: JsonValue | undefined, b: JsonValue | undefined, path = ''): JsonChange[] {
  if (a === undefined && b === undefined) return [];
  if (a === undefined) return [{ path, kind: 'added', b: b! }];
  if (b === undefined) return [{ path, kind: 'removed', a }];
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => jsonChanges(a[k], b[k], join(path, k)));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: JsonChange[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...jsonChanges(a[i], b[i], join(path, i)));
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, kind: 'changed', a, b }];
}

/** The first object (depth first, in a's order) whose keys come in another order. */
export function firstKeyOrderDifference(a: JsonValue, b: JsonValue, path = ''): { path: string; a: string[]; b: string[] } | undefined {
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.join('\u0000') !== kb.join('\u0000')) return { path: path === '' ? '(top level)' : path, a: ka, b: kb };
    for (const k of ka) {
      const d = firstKeyOrderDifference(a[k]!, b[k]!, join(path, k));
      if (d !== undefined) return d;
    }
  } else if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = firstKeyOrderDifference(a[i]!, b[i]!, join(path, i));
      if (d !== undefined) return d;
    }
  }
  return undefined;
}

export function compareJson(aBytes: Buffer, bBytes: Buffer): JsonComparison {
  if (aBytes.equals(bBytes)) return { kind: 'identical' };
  const a = JSON.parse(aBytes.toString('utf8')) as JsonValue;
  const b = JSON.parse(bBytes.toString('utf8')) as JsonValue;
  const changes = jsonChanges(a, b);
  if (changes.length > 0) return { kind: 'values', changes };
  const order = firstKeyOrderDifference(a, b);
  if (order !== undefined) return { kind: 'key-order', ...order };
  let offset = 0;
  while (offset < aBytes.length && offset < bBytes.length && aBytes[offset] === bBytes[offset]) offset++;
  return { kind: 'formatting', offset };
}

export function showJson(v: JsonValue | undefined): string {
  if (v === undefined) return '(absent)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}
