// Owns the one canonical JSON writer: everything strata hashes is serialised here.
// Rules: object keys sorted by UTF-16 code units (JavaScript's default sort, identical to
// byte order for the ASCII keys we use), no insignificant whitespace, integers only (a
// fraction or a non-finite number is a bug, not a value), `undefined` members omitted,
// strings escaped exactly as JSON.stringify does.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON: ${path} is ${value}, not a safe integer`);
      return String(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => (item === undefined ? 'null' : write(item, `${path}[${i}]`))).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonical JSON: ${path} is a ${proto?.constructor?.name ?? 'non-plain object'}`);
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${write(record[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: ${path} has type ${typeof value}`);
  }
}

/**
 * The readable canonical form for files people review and diff (lockfiles): the same
 * value rules, keys sorted, two-space indentation, one member per line, except that an
 * array holding only scalars is written on one line. Deterministic, so it hashes stably.
 */
export function canonicalJsonPretty(value: unknown): string {
  return `${pretty(value, '$', '')}\n`;
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== 'object';
}

function pretty(value: unknown, path: string, indent: string): string {
  if (isScalar(value)) return write(value, path);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every(isScalar)) return write(value, path);
    const items = value.map((item, i) => `${inner}${pretty(item ?? null, `${path}[${i}]`, inner)}`);
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  write(value, path); // validates the whole subtree with the same rules
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
  if (keys.length === 0) return '{}';
  const members = keys.map((k) => `${inner}${JSON.stringify(k)}: ${pretty(record[k], `${path}.${k}`, inner)}`);
  return `{\n${members.join(',\n')}\n${indent}}`;
}
