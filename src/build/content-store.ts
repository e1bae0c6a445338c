// Owns holding file contents between reading a .deb and writing its layer (the layer's
// entries must be sorted, so they cannot be written in the order the .deb gives them).
// Small packages stay in memory; a package larger than the memory budget goes to a private
// scratch file, so memory stays bounded whatever the package size.
import { open, rm, type FileHandle } from 'node:fs/promises';

export type ContentRef = { kind: 'memory'; data: Buffer } | { kind: 'spill'; offset: number; size: number };

export class ContentStore {
  private readonly spillPath: string | undefined;
  private file: FileHandle | undefined;
  private offset = 0;

  /** With a spill path every content goes to that file; without, to memory. */
  constructor(spillPath?: string) {
    this.spillPath = spillPath;
  }

  async add(chunks: AsyncIterable<Buffer>, size: number): Promise<ContentRef> {
    if (this.spillPath === undefined) {
      const parts: Buffer[] = [];
      for await (const c of chunks) parts.push(Buffer.from(c));
      return { kind: 'memory', data: parts.length === 1 ? parts[0]! : Buffer.concat(parts, size) };
    }
    this.file ??= await open(this.spillPath, 'w+');
    const start = this.offset;
    for await (const c of chunks) {
      await this.file.write(c, 0, c.length, this.offset);
      this.offset += c.length;
    }
    return { kind: 'spill', offset: start, size: this.offset - start };
  }

  /** The bytes of a content, as chunks of at most 1 MiB. */
  async *read(ref: ContentRef): AsyncGenerator<Buffer> {
    if (ref.kind === 'memory') {
      yield ref.data;
      return;
    }
    const step = 1 << 20;
    for (let pos = 0; pos < ref.size; pos += step) {
      const len = Math.min(step, ref.size - pos);
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await this.file!.read(buf, 0, len, ref.offset + pos);
      if (bytesRead !== len) throw new Error(`scratch file short read at ${ref.offset + pos}`);
      yield buf;
    }
  }

  async readAll(ref: ContentRef): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.read(ref)) parts.push(c);
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    if (this.spillPath !== undefined) await rm(this.spillPath, { force: true });
  }
}
