// Owns streaming a byte sequence through strata's chunked zstd (zstd-frames.ts) using the
// compression pool: one independent frame per 4 MiB chunk, compressed out of order by the
// workers and written in order. The same interface as GzipStream, so the layer writer takes
// either.
import type { DeflatePool } from './deflate-pool.js';
import { ChunkedStream } from './chunked-stream.js';
import { ZSTD_CHUNK_SIZE, zstdFrame } from './zstd-frames.js';

export class ZstdStream extends ChunkedStream {
  constructor(pool: DeflatePool, sink: (chunk: Buffer) => Promise<void> | void, onInput?: (chunk: Buffer) => void) {
    super(pool, sink, onInput, ZSTD_CHUNK_SIZE);
  }

  protected override compressChunk(chunk: Buffer): Promise<Buffer> {
    return this.pool.compress(chunk, new Uint8Array(0), true, true, 'zstd');
  }

  protected override async emptyOutput(): Promise<Buffer[]> {
    return [await zstdFrame(new Uint8Array(0))];
  }
}
