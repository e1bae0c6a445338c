// Owns the pool of worker threads that compress gzip chunks in parallel. With zero workers
// the same function runs in the calling thread: the bytes are the same either way.
import { Worker } from 'node:worker_threads';
import { deflateChunk, type DeflateImpl } from './gzip-chunked.js';

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

export class DeflatePool {
  readonly size: number;
  readonly impl: DeflateImpl;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ id: number; chunk: Uint8Array; dictionary: Uint8Array; last: boolean }> = [];
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

  /** Compresses one chunk; the inputs are copied, so callers may reuse their buffers. */
  compress(chunk: Uint8Array, dictionary: Uint8Array, last: boolean): Promise<Buffer> {
    if (this.size === 0) {
      try {
        return Promise.resolve(deflateChunk(chunk, dictionary, last, this.impl));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    const id = this.nextId++;
    const c = new Uint8Array(chunk.byteLength);
    c.set(chunk);
    const d = new Uint8Array(dictionary.byteLength);
    d.set(dictionary);
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ id, chunk: c, dictionary: d, last });
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.idle.length = 0;
  }
}
