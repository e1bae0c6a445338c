// Owns streaming a byte sequence through strata's chunked zstd (zstd-frames.ts) using the
// compression pool: frames are compressed out of order by the workers and written in order.
// The same interface as GzipStream, so the layer writer takes either.
import type { DeflatePool } from './deflate-pool.js';
import { ZSTD_CHUNK_SIZE, zstdFrame } from './zstd-frames.js';

export class ZstdStream {
  private readonly pool: DeflatePool;
  private readonly sink: (chunk: Buffer) => Promise<void> | void;
  private readonly onInput: ((chunk: Buffer) => void) | undefined;
  private buffer = Buffer.allocUnsafe(ZSTD_CHUNK_SIZE);
  private filled = 0;
  private total = 0;
  private readonly inflight: Array<Promise<Buffer>> = [];
  private readonly maxInflight: number;
  /** Compressed bytes written to the sink. */
  compressedBytes = 0;

  constructor(pool: DeflatePool, sink: (chunk: Buffer) => Promise<void> | void, onInput?: (chunk: Buffer) => void) {
    this.pool = pool;
    this.sink = sink;
    this.onInput = onInput;
    this.maxInflight = Math.max(2, pool.size * 2);
  }

  private async drainTo(limit: number): Promise<void> {
    while (this.inflight.length > limit) {
      const b = await this.inflight.shift()!;
      this.compressedBytes += b.length;
      await this.sink(b);
    }
  }

  private async dispatch(): Promise<void> {
    const chunk = this.buffer.subarray(0, this.filled);
    this.onInput?.(chunk);
    this.inflight.push(this.pool.compress(chunk, new Uint8Array(0), true, true, 'zstd'));
    this.buffer = Buffer.allocUnsafe(ZSTD_CHUNK_SIZE);
    this.filled = 0;
    await this.drainTo(this.maxInflight);
  }

  async write(data: Uint8Array): Promise<void> {
    this.total += data.byteLength;
    let off = 0;
    while (off < data.byteLength) {
      if (this.filled === ZSTD_CHUNK_SIZE) await this.dispatch();
      const take = Math.min(ZSTD_CHUNK_SIZE - this.filled, data.byteLength - off);
      this.buffer.set(data.subarray(off, off + take), this.filled);
      this.filled += take;
      off += take;
    }
  }

  /** Flushes the last frame; returns the uncompressed size. An empty input is one empty frame. */
  async end(): Promise<number> {
    if (this.total === 0) {
      const empty = await zstdFrame(new Uint8Array(0));
      this.compressedBytes += empty.length;
      await this.sink(empty);
      return 0;
    }
    if (this.filled > 0) await this.dispatch();
    await this.drainTo(0);
    return this.total;
  }
}
