// Owns the worker-thread side of parallel layer compression: compresses one chunk at a time
// with the pinned deflate settings and sends the bytes back. See gzip-chunked.ts.
import { parentPort } from 'node:worker_threads';
import { deflateChunk, type DeflateImpl } from './gzip-chunked.js';

interface Job {
  id: number;
  chunk: Uint8Array;
  dictionary: Uint8Array;
  last: boolean;
  impl: DeflateImpl;
}

parentPort!.on('message', (job: Job) => {
  try {
    const out = deflateChunk(job.chunk, job.dictionary, job.last, job.impl);
    const copy = new Uint8Array(out.byteLength);
    copy.set(out);
    parentPort!.postMessage({ id: job.id, data: copy }, [copy.buffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message });
  }
});
