// Owns streaming a byte sequence through the pinned chunked gzip (gzip-chunked.ts) using a
// DeflatePool: chunks are compressed out of order by the workers and written in order, each
// primed with the 32 KiB of input before it, between the fixed header and the CRC trailer.
import { crc32 } from 'node:zlib';
import type { DeflatePool } from './deflate-pool.js';
import { ChunkedStream } from './chunked-stream.js';
import { CHUNK_SIZE, DICTIONARY_SIZE, EMPTY_DEFLATE, GZIP_HEADER, gzipTrailer } from './gzip-chunked.js';

export class GzipStream extends ChunkedStream {
  private dictionary: Uint8Array = new Uint8Array(0);
  private crc = 0;

  constructor(pool: DeflatePool, sink: (chunk: Buffer) => Promise<void> | void, onInput?: (chunk: Buffer) => void) {
    super(pool, sink, onInput, CHUNK_SIZE);
  }

  protected override header(): Buffer {
    return GZIP_HEADER;
  }

  protected override compressChunk(chunk: Buffer, last: boolean): Promise<Buffer> {
    this.crc = crc32(chunk, this.crc);
    const dictionary = this.dictionary;
    this.dictionary = Buffer.from(chunk.subarray(Math.max(0, chunk.length - DICTIONARY_SIZE)));
    // The chunk buffer and the old dictionary are not used here again: the pool may move them
    // to a worker instead of copying them.
    return this.pool.compress(chunk, dictionary, last, true);
  }

  protected override trailer(total: number): Buffer {
    return gzipTrailer(this.crc, total);
  }

  protected override async emptyOutput(): Promise<Buffer[]> {
    return [GZIP_HEADER, EMPTY_DEFLATE, gzipTrailer(0, 0)];
  }
}
