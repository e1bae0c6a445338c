// Owns decoding a gzip member header (RFC 1952 §2.3): the fields that can make two
// compressions of the same bytes differ without any change to the data — MTIME, the file
// name, the comment, XFL and the OS byte. strata writes mtime 0, no name, XFL 0, OS 3
// (gzip-chunked.ts); `strata verify` reads other producers' headers to say which field moved.

export interface GzipHeader {
  /** Compression method (8: deflate). */
  method: number;
  flags: number;
  /** Seconds since the epoch; 0 means "no time stamp". */
  mtime: number;
  /** Extra flags: 2 = slowest/best compression, 4 = fastest. */
  xfl: number;
  /** Operating system that wrote the member: 3 = Unix, 255 = unknown. */
  os: number;
  /** FNAME, when present (latin1 by the RFC). */
  name?: string;
  /** FCOMMENT, when present. */
  comment?: string;
  /** FEXTRA bytes, when present. */
  extra?: Buffer;
  /** FHCRC was set. */
  headerCrc: boolean;
  /** Bytes of the header, where the deflate data begins. */
  length: number;
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

function zeroTerminated(bytes: Uint8Array, from: number): { text: string; next: number } | undefined {
  for (let i = from; i < bytes.length; i++) {
    if (bytes[i] === 0) return { text: Buffer.from(bytes.subarray(from, i)).toString('latin1'), next: i + 1 };
  }
  return undefined;
}

/** Decodes the header at the start of `bytes`; undefined when it is not a complete gzip header. */
export function parseGzipHeader(bytes: Uint8Array): GzipHeader | undefined {
  if (bytes.length < 10 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return undefined;
  const flags = bytes[3]!;
  const header: GzipHeader = {
    method: bytes[2]!,
    flags,
    mtime: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32LE(4),
    xfl: bytes[8]!,
    os: bytes[9]!,
    headerCrc: (flags & FHCRC) !== 0,
    length: 10,
  };
  let pos = 10;
  if ((flags & FEXTRA) !== 0) {
    if (bytes.length < pos + 2) return undefined;
    const xlen = bytes[pos]! | (bytes[pos + 1]! << 8);
    if (bytes.length < pos + 2 + xlen) return undefined;
    header.extra = Buffer.from(bytes.subarray(pos + 2, pos + 2 + xlen));
    pos += 2 + xlen;
  }
  if ((flags & FNAME) !== 0) {
    const z = zeroTerminated(bytes, pos);
    if (z === undefined) return undefined;
    header.name = z.text;
    pos = z.next;
  }
  if ((flags & FCOMMENT) !== 0) {
    const z = zeroTerminated(bytes, pos);
    if (z === undefined) return undefined;
    header.comment = z.text;
    pos = z.next;
  }
  if ((flags & FHCRC) !== 0) pos += 2;
  if (bytes.length < pos) return undefined;
  header.length = pos;
  return header;
}

/** The header fields that differ between two headers, by RFC 1952 name, in header order. */
export function gzipHeaderDifferences(a: GzipHeader, b: GzipHeader): Array<{ field: string; a: string; b: string }> {
  const out: Array<{ field: string; a: string; b: string }> = [];
  const cmp = (field: string, x: unknown, y: unknown, show: (v: unknown) => string = String) => {
    const sx = x === undefined ? '(none)' : show(x);
    const sy = y === undefined ? '(none)' : show(y);
    if (sx !== sy) out.push({ field, a: sx, b: sy });
  };
  cmp('CM', a.method, b.method);
  cmp('FLG', a.flags, b.flags, (v) => `0x${(v as number).toString(16).padStart(2, '0')}`);
  cmp('MTIME', a.mtime, b.mtime);
  cmp('XFL', a.xfl, b.xfl);
  cmp('OS', a.os, b.os);
  cmp('FEXTRA', a.extra, b.extra, (v) => (v as Buffer).toString('hex'));
  cmp('FNAME', a.name, b.name, (v) => JSON.stringify(v));
  cmp('FCOMMENT', a.comment, b.comment, (v) => JSON.stringify(v));
  return out;
}
