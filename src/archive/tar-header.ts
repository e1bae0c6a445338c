// Owns the tar header codec: POSIX ustar headers (IEEE 1003.1-1988) and pax extended
// records (POSIX.1-2001 `x`), plus reading the GNU extensions Debian's dpkg-deb writes
// (`L`/`K` long names, base-256 numbers). Writing is canonical (docs/reproducibility.md):
// numeric fields are zero-padded octal, uname/gname are empty, pax records only when
// needed and in a fixed key order.

export const BLOCK = 512;

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarEntry {
  /** Relative path without a leading `./` or `/`; directories without a trailing slash. */
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. Required: nothing here reads the clock. */
  mtime: number;
  /** Target of a symlink or hard link. */
  linkname?: string;
  /** Extended attributes, such as security.capability. */
  xattrs?: Record<string, Uint8Array>;
  uname?: string;
  gname?: string;
}

const TYPE_FLAG: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
  other: '0',
};

const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function writeString(block: Buffer, offset: number, length: number, value: string): boolean {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) return false;
  bytes.copy(block, offset);
  return true;
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  // length-1 digits, zero-padded, then NUL: the form GNU tar and Go's archive/tar write.
  const text = value.toString(8).padStart(length - 1, '0');
  block.write(text, offset, length - 1, 'ascii');
  block[offset + length - 1] = 0;
}

function paxRecord(key: string, value: string | Uint8Array): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const rest = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), v, Buffer.from('\n')]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), rest]);
}

function ustarHeader(entry: TarEntry, name: string, linkname: string, size: number, typeflag: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, entry.mode & 0o7777);
  writeOctal(block, 108, 8, entry.uid);
  writeOctal(block, 116, 8, entry.gid);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, entry.mtime);
  block.fill(0x20, 148, 156);
  block.write(typeflag, 156, 1, 'ascii');
  writeString(block, 157, 100, linkname);
  block.write('ustar\u000000', 257, 8, 'ascii');
  writeString(block, 265, 32, entry.uname ?? '');
  writeString(block, 297, 32, entry.gname ?? '');
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

/**
 * Encodes the header blocks of an entry: an optional pax `x` header with its records, then
 * the ustar header. The caller writes the content and its padding.
 */
export function encodeHeader(entry: TarEntry): Buffer {
  if (!Number.isSafeInteger(entry.mtime) || entry.mtime < 0) throw new TypeError(`tar: ${entry.path}: mtime must be a non-negative integer`);
  const size = entry.type === 'file' ? entry.size : 0;
  const path = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const linkname = entry.linkname ?? '';
  const records: Buffer[] = [];
  const pathFits = Buffer.byteLength(path) <= 100;
  const linkFits = Buffer.byteLength(linkname) <= 100;
  if (!pathFits) records.push(paxRecord('path', path));
  if (!linkFits) records.push(paxRecord('linkpath', linkname));
  if (size > MAX_OCTAL_12) records.push(paxRecord('size', String(size)));
  if (entry.uid > MAX_OCTAL_8 || entry.gid > MAX_OCTAL_8) throw new TypeError(`tar: ${entry.path}: uid/gid above ${MAX_OCTAL_8} are not supported`);
  if (entry.xattrs !== undefined) {
    for (const key of Object.keys(entry.xattrs).sort()) records.push(paxRecord(`SCHILY.xattr.${key}`, entry.xattrs[key]!));
  }
  const header = ustarHeader(
    entry,
    pathFits ? path : Buffer.from(path, 'utf8').subarray(0, 100).toString('utf8').replace(/\uFFFD+$/, ''),
    linkFits ? linkname : '',
    size > MAX_OCTAL_12 ? 0 : size,
    TYPE_FLAG[entry.type],
  );
  if (records.length === 0) return header;
  const body = Buffer.concat(records);
  const pax = ustarHeader({ path: 'PaxHeader', type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: entry.mtime }, 'PaxHeader', '', body.length, 'x');
  return Buffer.concat([pax, body, Buffer.alloc(padding(body.length)), header]);
}

export function padding(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

/** Two zero blocks: the end-of-archive marker. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

// ---- decoding ----

export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  prefix: string;
}

function readString(block: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset + offset, end - offset).toString('utf8');
}

function readNumber(block: Uint8Array, offset: number, length: number): number {
  if ((block[offset]! & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement with the high bit set.
    let value = block[offset]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + block[offset + i]!;
    return value;
  }
  const text = readString(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TypeError(`invalid octal field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

export function checksumOk(block: Uint8Array): boolean {
  const stored = readNumber(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

export function decodeHeader(block: Uint8Array): RawHeader {
  const magic = readString(block, 257, 6);
  const ustar = magic === 'ustar' || magic.startsWith('ustar');
  return {
    name: readString(block, 0, 100),
    mode: readNumber(block, 100, 8),
    uid: readNumber(block, 108, 8),
    gid: readNumber(block, 116, 8),
    size: readNumber(block, 124, 12),
    mtime: readNumber(block, 136, 12),
    typeflag: String.fromCharCode(block[156]! || 0x30),
    linkname: readString(block, 157, 100),
    uname: ustar ? readString(block, 265, 32) : '',
    gname: ustar ? readString(block, 297, 32) : '',
    prefix: ustar && magic === 'ustar' && block[262] === 0 ? readString(block, 345, 155) : '',
  };
}

/** Parses pax records; values stay bytes (xattrs are binary). */
export function parsePaxRecords(body: Uint8Array): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number(buf.toString('ascii', pos, space));
    if (!Number.isSafeInteger(len) || len <= 0 || pos + len > buf.length) throw new TypeError('invalid pax record length');
    const record = buf.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new TypeError('invalid pax record');
    out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

export function entryTypeOf(typeflag: string): EntryType {
  switch (typeflag) {
    case '0':
    case '\u0000':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    default:
      return 'other';
  }
}
