// Owns the start-up check of the pinned gzip: node:zlib must produce exactly the bytes that
// pako (pure JS, the reference) produced for a fixed input when this golden digest was
// recorded. If it does not (a Node built against the system zlib, a future zlib), strata
// compresses with pako instead: slower, but the same bytes. See gzip-chunked.ts.
import { createHash } from 'node:crypto';
import { gzipChunkedSync, type DeflateImpl } from './gzip-chunked.js';

/** sha256 of gzipChunkedSync(selfTestInput(), 'pako'). */
export const GOLDEN_SHA256 = '98a256b412a3546c7cd09254a447c676fa3d4ed1b0d32bd2eb00730e5670f7d4';

const WORDS = ['usr', 'lib', 'share', 'doc', 'x86_64-linux-gnu', 'copyright', 'changelog', 'Debian', 'strata', '\n', ' ', '/'].map((w) => Buffer.from(w));

/** 1.25 MiB of text, structured binary and noise from a fixed generator: two chunks, so the dictionary path is covered. */
export function selfTestInput(): Buffer {
  const size = 1.25 * 1024 * 1024;
  const out = Buffer.alloc(size);
  let x = 0x2545f491;
  let i = 0;
  while (i < size) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const mode = (i >> 16) % 3;
    if (mode === 0) {
      // A word that runs past the end is cut there.
      const w = WORDS[x % WORDS.length]!;
      out.set(i + w.length <= size ? w : w.subarray(0, size - i), i);
      i += w.length;
    } else if (mode === 1) {
      const v = x & 0xff00ff;
      const at = Math.min(i, size - 4);
      out[at] = v;
      out[at + 1] = v >>> 8;
      out[at + 2] = v >>> 16;
      out[at + 3] = v >>> 24;
      i += 4;
    } else {
      out[i++] = x & 0xff;
    }
  }
  return out;
}

let chosen: DeflateImpl | undefined;

/** What the verdict depends on: this Node and its zlib. A cache may keep verdicts by this key. */
export function selfTestKey(): string {
  return `${process.version}-zlib-${process.versions.zlib}-${process.arch}`;
}

/**
 * The implementation to use in this process: 'node' when node:zlib matches the golden bytes.
 * `remembered` is a verdict recorded earlier for the same selfTestKey() (it saves ~50 ms).
 */
export function selectDeflateImpl(remembered?: DeflateImpl): DeflateImpl {
  if (chosen !== undefined) return chosen;
  if (process.env.STRATA_GZIP === 'pako') return (chosen = 'pako');
  if (remembered !== undefined) return (chosen = remembered);
  const digest = createHash('sha256').update(gzipChunkedSync(selfTestInput(), 'node')).digest('hex');
  chosen = digest === GOLDEN_SHA256 ? 'node' : 'pako';
  return chosen;
}
