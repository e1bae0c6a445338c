// Owns the pool of worker threads that compress layer chunks in parallel: deflate chunks of
// the pinned gzip, or zstd frames. With zero workers the same function runs in the calling
// thread: the bytes are the same either way.
import { Worker } from 'node:worker_threads';
import { deflateChunk, type DeflateImpl } from './gzip-chunked.js';
import { zstdFrame } from './zstd-frames.js';

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

/**
 * Whether moving the view's ArrayBuffer to a worker is safe: the view starts it, and is at
 * least 4 KiB, which Node never carves out of its shared allocation pool.
 */
function ownsBuffer(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength >= 4096 && b.buffer instanceof ArrayBuffer;
}

function copyOf(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b.byteLength);
  c.set(b);
  return c;
}

export class DeflatePool {
  readonly size: number;
  readonly impl: DeflateImpl;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ id: number; chunk: Uint8Array; dictionary: Uint8Array; last: boolean; codec: 'deflate' | 'zstd' }> = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(size: number, impl: DeflateImpl) {
    this.size = Math.max(0, Math.floor(size));
    this.impl = impl;
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(new URL('./deflate-worker.js', import.meta.url));
      worker.unref();
      worker.on('message', (msg: { id: number; data?: Uint8Array; error?: string }) => {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        this.idle.push(worker);
        this.pump();
        if (p === undefined) return;
        if (msg.error !== undefined) p.reject(new Error(msg.error));
        else p.resolve(Buffer.from(msg.data!.buffer, msg.data!.byteOffset, msg.data!.byteLength));
      });
      worker.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const worker = this.idle.pop()!;
      worker.ref();
      worker.postMessage({ ...job, impl: this.impl }, [job.chunk.buffer as ArrayBuffer, job.dictionary.buffer as ArrayBuffer]);
    }
    if (this.pending.size === 0) for (const w of this.workers) w.unref();
  }

  /**
   * Compresses one chunk. The inputs are copied, so callers may reuse their buffers, unless
   * `give` says the caller is done with them: then a buffer that owns its whole ArrayBuffer is
   * moved to the worker (transferred, no copy) and unusable here afterwards.
   */
  compress(chunk: Uint8Array, dictionary: Uint8Array, last: boolean, give = false, codec: 'deflate' | 'zstd' = 'deflate'): Promise<Buffer> {
    if (this.size === 0) {
      if (codec === 'zstd') return zstdFrame(chunk);
      try {
        return Promise.resolve(deflateChunk(chunk, dictionary, last, this.impl));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    const id = this.nextId++;
    const c = give && ownsBuffer(chunk) ? chunk : copyOf(chunk);
    const d = give && ownsBuffer(dictionary) ? dictionary : copyOf(dictionary);
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ id, chunk: c, dictionary: d, last, codec });
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.idle.length = 0;
  }
}
