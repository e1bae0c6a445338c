// Owns strata's pinned gzip: the layer compressor whose bytes are part of the contract.
//
// Format: a gzip member (RFC 1952) with header mtime 0, no name, XFL 0, OS 3, whose deflate
// stream is made pigz-style from independent 1 MiB chunks: each chunk is raw deflate at level
// 6 (memLevel 8, window 15, default strategy) primed with the previous 32 KiB of input as
// dictionary, ended by a sync flush (the last one by a final block). Chunks depend only on
// the input, never on which worker compressed them, so any number of workers gives the same
// bytes. Node's bundled zlib and pako 3 (pure JS) produce identical chunks; a self-test
// (gzip-self-test.ts) checks node:zlib against a golden digest made with pako and falls back
// to pako when they differ (a Node built against another zlib), rather than change the bytes.
import { createRequire } from 'node:module';
import { constants, crc32, deflateRawSync } from 'node:zlib';

type Pako = typeof import('pako');
let pako: Pako | undefined;

/** pako is needed only when node:zlib fails the self-test, so it is loaded then (not at every start). */
function loadPako(): Pako {
  return (pako ??= createRequire(import.meta.url)('pako') as Pako);
}

export const CHUNK_SIZE = 1 << 20;
export const DICTIONARY_SIZE = 32 * 1024;
export const LEVEL = 6;

/** The compressor's identity, recorded in lockfiles, annotations and layer-cache keys. */
export const GZIP_IDENTITY = 'strata-gzip/1 (deflate level 6, memLevel 8, window 15; 1 MiB chunks primed with 32 KiB; mtime 0, OS 3)';

export type DeflateImpl = 'node' | 'pako';

/** Compresses one chunk. `dictionary` is the 32 KiB of input before it (empty for the first). */
export function deflateChunk(chunk: Uint8Array, dictionary: Uint8Array, last: boolean, impl: DeflateImpl): Buffer {
  if (impl === 'node') {
    const opts: Parameters<typeof deflateRawSync>[1] = {
      level: LEVEL,
      memLevel: 8,
      windowBits: 15,
      strategy: constants.Z_DEFAULT_STRATEGY,
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    };
    if (dictionary.byteLength > 0) opts.dictionary = dictionary;
    return deflateRawSync(chunk, opts);
  }
  const out: Buffer[] = [];
  const { Deflate } = loadPako();
  const opts: ConstructorParameters<Pako['Deflate']>[0] = { level: LEVEL, memLevel: 8, windowBits: -15, strategy: 0, raw: true };
  if (dictionary.byteLength > 0) opts.dictionary = dictionary;
  const d = new Deflate(opts);
  d.onData = (c: Uint8Array) => {
    out.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  };
  d.onEnd = () => undefined;
  d.push(chunk, last ? 4 : 2);
  if (d.err) throw new Error(`pako deflate failed: ${d.msg}`);
  return Buffer.concat(out);
}

export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

export function gzipTrailer(crc: number, size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(crc >>> 0, 0);
  b.writeUInt32LE(size % 0x100000000, 4);
  return b;
}

/** The empty stream's deflate (a final empty block), for a zero-byte input. */
export const EMPTY_DEFLATE = Buffer.from([0x03, 0x00]);

/** Compresses a whole buffer in this thread (small inputs, tests, the self-test). */
export function gzipChunkedSync(data: Uint8Array, impl: DeflateImpl = 'node'): Buffer {
  const parts: Buffer[] = [GZIP_HEADER];
  if (data.byteLength === 0) parts.push(EMPTY_DEFLATE);
  for (let off = 0; off < data.byteLength; off += CHUNK_SIZE) {
    const end = Math.min(off + CHUNK_SIZE, data.byteLength);
    const dict = data.subarray(Math.max(0, off - DICTIONARY_SIZE), off);
    parts.push(deflateChunk(data.subarray(off, end), dict, end === data.byteLength, impl));
  }
  parts.push(gzipTrailer(crc32(data), data.byteLength));
  return Buffer.concat(parts);
}
