// Owns holding file contents between reading a .deb and writing its layer (the layer's
// entries must be sorted, so they cannot be written in the order the .deb gives them).
// The store is the package's decompressed data.tar itself, in a private scratch file that the
// decompressor writes: a content is an offset and a size in it, so no byte is copied to
// keep it, and memory stays bounded whatever the package size.
import { open, rm, type FileHandle } from 'node:fs/promises';

export interface ContentRef {
  /** Offset of the content in the scratch file. */
  offset: number;
  size: number;
}

/** Bytes read at once: the parser's chunks and the layer writer's windows. */
const WINDOW = 4 << 20;
/** Windows the layer writer keeps per package (16 MiB). */
const WINDOWS_KEPT = 4;

export class ContentStore {
  private readonly path: string;
  private file: FileHandle | undefined;
  /** Size of the scratch file once it is complete. */
  size = 0;
  /** The layer writer's read windows, least recently used first. */
  private readonly windows = new Map<number, Buffer>();

  private constructor(path: string, file: FileHandle) {
    this.path = path;
    this.file = file;
  }

  /** A new empty scratch file at `path` (on the cache's file system, private to this process). */
  static async create(path: string): Promise<ContentStore> {
    return new ContentStore(path, await open(path, 'w+'));
  }

  /** The open scratch file, for the decompressor to write. */
  get handle(): FileHandle {
    if (this.file === undefined) throw new Error('content store is closed');
    return this.file;
  }

  /** The whole file in order, as fresh buffers (the tar parser keeps views of them). */
  async *chunks(): AsyncGenerator<Buffer> {
    for (let pos = 0; pos < this.size; ) {
      const buf = Buffer.allocUnsafe(Math.min(WINDOW, this.size - pos));
      const { bytesRead } = await this.handle.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) throw new Error(`scratch file short read at ${pos}`);
      pos += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  }

  /** Window `index` of the file (bytes [index × WINDOW, (index + 1) × WINDOW)), read once and kept while recently used. */
  private async window(index: number): Promise<Buffer> {
    const hit = this.windows.get(index);
    if (hit !== undefined) {
      this.windows.delete(index);
      this.windows.set(index, hit);
      return hit;
    }
    const start = index * WINDOW;
    const buf = Buffer.allocUnsafe(Math.min(WINDOW, this.size - start));
    for (let got = 0; got < buf.length; ) {
      const { bytesRead } = await this.handle.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) throw new Error(`scratch file short read at ${start + got}`);
      got += bytesRead;
    }
    if (this.windows.size >= WINDOWS_KEPT) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(index, buf);
    return buf;
  }

  /**
   * The bytes of a content, as chunks of at most 4 MiB. Reads go through a few aligned 4 MiB
   * windows, so a package's contents, asked for in about the order the .deb holds them (or
   * alternating between two parts of it, as merged /usr does), cost one read per 4 MiB, and a
   * package of up to 16 MiB is read once whatever the order.
   */
  async *read(ref: ContentRef): AsyncGenerator<Buffer> {
    for (let pos = ref.offset, end = ref.offset + ref.size; pos < end; ) {
      const index = Math.floor(pos / WINDOW);
      const w = await this.window(index);
      const from = pos - index * WINDOW;
      const take = Math.min(end - pos, w.length - from);
      pos += take;
      yield w.subarray(from, from + take);
    }
  }

  async readAll(ref: ContentRef): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.read(ref)) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    this.windows.clear();
    if (file !== undefined) {
      await file.close();
      await rm(this.path, { force: true });
    }
  }
}
