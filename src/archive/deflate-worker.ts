// Owns the worker-thread side of parallel layer compression: compresses one chunk at a time
// with the pinned deflate settings and sends the bytes back. See gzip-chunked.ts.
import { parentPort } from 'node:worker_threads';
import { deflateChunk, type DeflateImpl } from './gzip-chunked.js';
import { zstdFrame } from './zstd-frames.js';

interface Job {
  id: number;
  chunk: Uint8Array;
  dictionary: Uint8Array;
  last: boolean;
  impl: DeflateImpl;
  codec?: 'deflate' | 'zstd';
}

parentPort!.on('message', async (job: Job) => {
  try {
    const out = job.codec === 'zstd' ? await zstdFrame(job.chunk) : deflateChunk(job.chunk, job.dictionary, job.last, job.impl);
    // Move the bytes back without a copy when they own their buffer (not Node's shared pool).
    const data = out.byteOffset === 0 && out.byteLength >= 4096 && out.buffer.byteLength === out.byteLength ? out : new Uint8Array(out);
    parentPort!.postMessage({ id: job.id, data }, [data.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message });
  }
});
