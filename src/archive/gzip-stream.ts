// Owns streaming a byte sequence through the pinned chunked gzip (gzip-chunked.ts) using a
// DeflatePool: chunks are compressed out of order by the workers and written in order.
import { crc32 } from 'node:zlib';
import type { DeflatePool } from './deflate-pool.js';
import { CHUNK_SIZE, DICTIONARY_SIZE, EMPTY_DEFLATE, GZIP_HEADER, gzipTrailer } from './gzip-chunked.js';

export class GzipStream {
  private readonly pool: DeflatePool;
  private readonly sink: (chunk: Buffer) => Promise<void> | void;
  private readonly onInput: ((chunk: Buffer) => void) | undefined;
  private buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  private filled = 0;
  private dictionary: Uint8Array = new Uint8Array(0);
  private crc = 0;
  private total = 0;
  private readonly inflight: Array<Promise<Buffer>> = [];
  private readonly maxInflight: number;
  private started = false;
  /** Compressed bytes written to the sink. */
  compressedBytes = 0;

  /**
   * `onInput`, when given, sees the uncompressed bytes once, in order, in chunks of up to
   * 1 MiB (the layer writer takes the DiffID there: one hash call per chunk, not per write).
   */
  constructor(pool: DeflatePool, sink: (chunk: Buffer) => Promise<void> | void, onInput?: (chunk: Buffer) => void) {
    this.pool = pool;
    this.sink = sink;
    this.onInput = onInput;
    this.maxInflight = Math.max(2, pool.size * 2);
  }

  private async emit(b: Buffer): Promise<void> {
    this.compressedBytes += b.length;
    await this.sink(b);
  }

  private async drainTo(limit: number): Promise<void> {
    while (this.inflight.length > limit) await this.emit(await this.inflight.shift()!);
  }

  private async dispatch(last: boolean): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.emit(GZIP_HEADER);
    }
    const chunk = this.buffer.subarray(0, this.filled);
    this.crc = crc32(chunk, this.crc);
    this.onInput?.(chunk);
    const dictionary = this.dictionary;
    this.dictionary = Buffer.from(chunk.subarray(Math.max(0, chunk.length - DICTIONARY_SIZE)));
    // The chunk buffer and the old dictionary are not used here again: the pool may move them
    // to a worker instead of copying them.
    this.inflight.push(this.pool.compress(chunk, dictionary, last, true));
    this.buffer = Buffer.allocUnsafe(CHUNK_SIZE);
    this.filled = 0;
    await this.drainTo(this.maxInflight);
  }

  /** Takes `data` (copied before the returned promise settles; the caller may reuse it then). */
  async write(data: Uint8Array): Promise<void> {
    this.total += data.byteLength;
    let off = 0;
    while (off < data.byteLength) {
      if (this.filled === CHUNK_SIZE) await this.dispatch(false);
      const take = Math.min(CHUNK_SIZE - this.filled, data.byteLength - off);
      this.buffer.set(data.subarray(off, off + take), this.filled);
      this.filled += take;
      off += take;
    }
  }

  /** Flushes the last chunk and the trailer; returns the uncompressed size. */
  async end(): Promise<number> {
    if (this.total === 0) {
      await this.emit(GZIP_HEADER);
      await this.emit(EMPTY_DEFLATE);
    } else {
      await this.dispatch(true);
      await this.drainTo(0);
    }
    await this.emit(gzipTrailer(this.crc, this.total));
    return this.total;
  }
}
