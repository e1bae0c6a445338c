// Owns the shape both layer compressors share: input is cut into fixed-size chunks, each chunk
// is compressed independently (out of order, by the worker pool), and the results are written
// in order, with at most a few chunks in flight. Subclasses say how a chunk is compressed and
// what comes before the first chunk, after the last, and for an empty input.
import type { DeflatePool } from './deflate-pool.js';

export abstract class ChunkedStream {
  protected readonly pool: DeflatePool;
  private readonly sink: (chunk: Buffer) => Promise<void> | void;
  private readonly onInput: ((chunk: Buffer) => void) | undefined;
  private readonly chunkSize: number;
  private buffer: Buffer;
  private filled = 0;
  private total = 0;
  private readonly inflight: Array<Promise<Buffer>> = [];
  private readonly maxInflight: number;
  private started = false;
  /** Compressed bytes written to the sink. */
  compressedBytes = 0;

  /**
   * `onInput`, when given, sees the uncompressed bytes once, in order, a chunk at a time (the
   * layer writer takes the DiffID there: one hash call per chunk, not per write).
   */
  constructor(pool: DeflatePool, sink: (chunk: Buffer) => Promise<void> | void, onInput: ((chunk: Buffer) => void) | undefined, chunkSize: number) {
    this.pool = pool;
    this.sink = sink;
    this.onInput = onInput;
    this.chunkSize = chunkSize;
    this.buffer = Buffer.allocUnsafe(chunkSize);
    this.maxInflight = Math.max(2, pool.size * 2);
  }

  /** Compresses one chunk; the chunk's buffer is the callee's from now on. */
  protected abstract compressChunk(chunk: Buffer, last: boolean): Promise<Buffer>;
  /** Bytes before the first chunk. */
  protected header(): Buffer | undefined {
    return undefined;
  }
  /** Bytes after the last chunk, given the total input length. */
  protected trailer(_total: number): Buffer | undefined {
    return undefined;
  }
  /** The whole output for an empty input. */
  protected abstract emptyOutput(): Promise<Buffer[]>;

  protected async emit(b: Buffer): Promise<void> {
    this.compressedBytes += b.length;
    await this.sink(b);
  }

  private async drainTo(limit: number): Promise<void> {
    while (this.inflight.length > limit) await this.emit(await this.inflight.shift()!);
  }

  private async dispatch(last: boolean): Promise<void> {
    if (!this.started) {
      this.started = true;
      const h = this.header();
      if (h !== undefined) await this.emit(h);
    }
    const chunk = this.buffer.subarray(0, this.filled);
    this.onInput?.(chunk);
    this.inflight.push(this.compressChunk(chunk, last));
    this.buffer = Buffer.allocUnsafe(this.chunkSize);
    this.filled = 0;
    await this.drainTo(this.maxInflight);
  }

  /** Takes `data` (copied before the returned promise settles; the caller may reuse it then). */
  async write(data: Uint8Array): Promise<void> {
    this.total += data.byteLength;
    let off = 0;
    while (off < data.byteLength) {
      if (this.filled === this.chunkSize) await this.dispatch(false);
      const take = Math.min(this.chunkSize - this.filled, data.byteLength - off);
      this.buffer.set(data.subarray(off, off + take), this.filled);
      this.filled += take;
      off += take;
    }
  }

  /** Flushes the last chunk and any trailer; returns the uncompressed size. */
  async end(): Promise<number> {
    if (this.total === 0) {
      for (const b of await this.emptyOutput()) await this.emit(b);
      return 0;
    }
    await this.dispatch(true);
    await this.drainTo(0);
    const t = this.trailer(this.total);
    if (t !== undefined) await this.emit(t);
    return this.total;
  }
}
