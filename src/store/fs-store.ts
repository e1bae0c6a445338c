// Owns the default BlobStore: a content-addressed folder, safe across restarts and across
// processes that share it.
//   blobs/sha256/<hex>   one file per blob, never changed once it exists
//   records/<key>        one file per record
//   tmp/                 private temp files; every write lands here first, is flushed to disk,
//                        and is renamed into place ("persist then rename"), so a reader sees a
//                        whole file or none, and a crash leaves at most a stale temp file
// Stale temp files (older than a day) are removed when the store is opened.
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { StrataError } from '../errors.js';
import { checkRecordKey, digestHex, type BlobStore, type ByteRange } from './blob-store.js';

const STALE_TEMP_MS = 24 * 3600 * 1000;

function storeError(root: string, what: string, e: unknown): StrataError {
  return new StrataError('STORE_ERROR', `${what} in the store ${root}: ${(e as Error).message}`, {
    cause: e,
    hint: 'check that the store directory exists, is writable and has free space (--store DIR)',
  });
}

async function* chunksOf(content: Uint8Array | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (content instanceof Uint8Array) yield content;
  else yield* content;
}

/** Reads 1 MiB at a time: measured half again as fast to serve as a default fs read stream. */
const READ_CHUNK = 1 << 20;
const PUMP_CHUNK = 256 * 1024;
const PUMP_BUFFERS = 4;
const MAX_SPARE_BUFFERS = 64;
/** Buffers of finished pumps, for the next ones (no allocation per response). */
const spareBuffers: Buffer[] = [];

async function* readChunks(handle: FileHandle, start: number, end: number | undefined): AsyncGenerator<Uint8Array> {
  try {
    const stop = end ?? (await handle.stat()).size;
    let position = start;
    while (position < stop) {
      // A fresh buffer each time: the socket may still hold the previous one.
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, stop - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

export class FsStore implements BlobStore {
  readonly root: string;
  readonly description: string;

  private constructor(root: string) {
    this.root = root;
    this.description = `fs:${root}`;
  }

  static async open(root: string): Promise<FsStore> {
    try {
      await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
      await mkdir(join(root, 'records'), { recursive: true });
      await mkdir(join(root, 'tmp'), { recursive: true });
    } catch (e) {
      throw storeError(root, 'cannot create the folders', e);
    }
    const store = new FsStore(root);
    await store.removeStaleTemps();
    return store;
  }

  private async removeStaleTemps(): Promise<void> {
    const tmp = join(this.root, 'tmp');
    for (const name of await readdir(tmp).catch(() => [] as string[])) {
      const s = await stat(join(tmp, name)).catch(() => undefined);
      // Written by a process that died (or is very slow): nothing refers to a temp file.
      if (s !== undefined && Date.now() - s.mtimeMs > STALE_TEMP_MS) await rm(join(tmp, name), { force: true });
    }
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  private recordPath(key: string): string {
    return join(this.root, 'records', ...checkRecordKey(key).split('/'));
  }

  private tempPath(): string {
    return join(this.root, 'tmp', `${process.pid}.${randomBytes(8).toString('hex')}`);
  }

  async stat(digest: string): Promise<{ size: number } | undefined> {
    const path = this.blobPath(digest);
    try {
      const s = await stat(path);
      return s.isFile() ? { size: s.size } : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storeError(this.root, `cannot stat ${digest}`, e);
    }
  }

  async read(digest: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const path = this.blobPath(digest);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storeError(this.root, `cannot open ${digest}`, e);
    }
    return readChunks(handle, range?.start ?? 0, range === undefined ? undefined : range.end + 1);
  }

  async pump(digest: string, range: ByteRange | undefined, write: (chunk: Uint8Array) => Promise<void>): Promise<boolean> {
    const path = this.blobPath(digest);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw storeError(this.root, `cannot open ${digest}`, e);
    }
    // PUMP_BUFFERS buffers in rotation: a buffer is read into again only after the write of
    // its previous contents has completed.
    const inFlight: Array<Promise<void> | undefined> = [];
    const buffers: Buffer[] = [];
    try {
      const stop = range === undefined ? (await handle.stat()).size : range.end + 1;
      let position = range?.start ?? 0;
      for (let i = 0; position < stop; i++) {
        const slot = i % PUMP_BUFFERS;
        await inFlight[slot];
        const buffer = (buffers[slot] ??= spareBuffers.pop() ?? Buffer.allocUnsafe(PUMP_CHUNK));
        const { bytesRead } = await handle.read(buffer, 0, Math.min(PUMP_CHUNK, stop - position), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        inFlight[slot] = write(buffer.subarray(0, bytesRead));
        inFlight[slot]!.catch(() => undefined);
      }
      await Promise.all(inFlight);
      // Only when every write has completed may the buffers serve another response.
      for (const b of buffers) if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(b);
    } finally {
      await handle.close();
    }
    return true;
  }

  /** Flushes a written temp file and renames it into place; removes it on failure. */
  private async commit(temp: string, target: string, handle?: FileHandle): Promise<void> {
    try {
      if (handle !== undefined) {
        await handle.datasync();
        await handle.close();
      }
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (e) {
      await handle?.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw storeError(this.root, `cannot write ${relative(this.root, target)}`, e);
    }
  }

  async write(digest: string, content: Uint8Array | AsyncIterable<Uint8Array>, size?: number): Promise<void> {
    const target = this.blobPath(digest);
    if ((await this.stat(digest)) !== undefined) {
      // Already held; drain an iterator so a caller's stream does not stall.
      if (!(content instanceof Uint8Array)) for await (const _ of content) void _;
      return;
    }
    const temp = this.tempPath();
    let handle: FileHandle;
    try {
      handle = await open(temp, 'w');
    } catch (e) {
      throw storeError(this.root, 'cannot create a temp file', e);
    }
    const hash = createHash('sha256');
    let written = 0;
    try {
      for await (const chunk of chunksOf(content)) {
        hash.update(chunk);
        written += chunk.length;
        let offset = 0;
        while (offset < chunk.length) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
      }
    } catch (e) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      if (e instanceof StrataError) throw e;
      throw storeError(this.root, `cannot write ${digest}`, e);
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== digest || (size !== undefined && written !== size)) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw new StrataError('DIGEST_INVALID', `the content written as ${digest} (${size ?? '?'} bytes) is ${actual} (${written} bytes); nothing was stored`, {
        detail: { expected: digest, actual, size, written },
      });
    }
    await this.commit(temp, target, handle);
  }

  async writeFile(digest: string, path: string, size: number): Promise<void> {
    if ((await this.stat(digest)) !== undefined) return;
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || s.size !== size) {
      throw new StrataError('INTERNAL', `${path} is not the ${size}-byte blob ${digest} it should be`);
    }
    const temp = this.tempPath();
    try {
      await link(path, temp); // same file system: no copy (blobs are immutable)
    } catch {
      await this.write(digest, createReadStream(path, { highWaterMark: 1 << 20 }), size);
      return;
    }
    await this.commit(temp, this.blobPath(digest));
  }

  async readRecord(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.recordPath(key));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw storeError(this.root, `cannot read record ${key}`, e);
    }
  }

  async writeRecord(key: string, bytes: Uint8Array): Promise<void> {
    const target = this.recordPath(key);
    const temp = this.tempPath();
    let handle: FileHandle;
    try {
      handle = await open(temp, 'w');
      await handle.writeFile(bytes);
    } catch (e) {
      await rm(temp, { force: true });
      throw storeError(this.root, `cannot write record ${key}`, e);
    }
    await this.commit(temp, target, handle);
  }

  async listRecords(prefix: string): Promise<string[]> {
    if (!prefix.endsWith('/')) throw new StrataError('INTERNAL', `record prefix ${JSON.stringify(prefix)} must end with /`);
    const dir = this.recordPath(prefix.slice(0, -1));
    let names: string[];
    try {
      names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => relative(dir, join(d.parentPath, d.name)));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw storeError(this.root, `cannot list records under ${prefix}`, e);
    }
    const keys = names.map((n) => prefix + n.split(sep).join('/'));
    return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  async deleteRecord(key: string): Promise<void> {
    await rm(this.recordPath(key), { force: true });
  }
}

/** $STRATA_STORE_DIR, else $XDG_DATA_HOME/strata/store, else ~/.local/share/strata/store. */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_STORE_DIR) return env.STRATA_STORE_DIR;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'strata', 'store');
  return join(homedir(), '.local', 'share', 'strata', 'store');
}
