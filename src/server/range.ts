// Owns HTTP Range requests for blobs (RFC 9110 §14; distribution-spec "Pulling blobs"): one
// `bytes=` range, in any of its three forms. Another unit is ignored (the whole blob is
// served, as RFC 9110 says); a malformed, unsatisfiable or multi-part byte range is refused
// with RANGE_INVALID (416, `Content-Range: bytes */SIZE`), saying what was wrong.
import { StrataError } from '../errors.js';
import type { ByteRange } from '../store/blob-store.js';

function refuse(header: string, size: number, why: string): never {
  throw new StrataError('RANGE_INVALID', `Range ${JSON.stringify(header.slice(0, 100))}: ${why} (the blob has ${size} bytes)`, {
    detail: { size },
    hint: 'ask for one range of bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX inside the blob',
  });
}

/** The range to serve, or undefined for the whole blob. */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const h = header.trim();
  const eq = h.indexOf('=');
  if (eq < 0) refuse(h, size, 'not UNIT=RANGE');
  if (h.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined;
  const spec = h.slice(eq + 1).trim();
  if (spec.includes(',')) refuse(h, size, 'several ranges in one request are not supported');
  const m = /^([0-9]*)-([0-9]*)$/.exec(spec);
  if (m === null || (m[1] === '' && m[2] === '')) refuse(h, size, 'not FIRST-LAST, FIRST- or -SUFFIX');
  if (m[1]!.length > 15 || m[2]!.length > 15) refuse(h, size, 'a position is too large');
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) refuse(h, size, 'an empty suffix');
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) refuse(h, size, 'the last position is before the first');
  if (start >= size) refuse(h, size, 'the first position is past the end');
  return { start, end };
}
