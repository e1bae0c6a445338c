// Owns writing canonical tar streams. The writer does not sort or de-duplicate: the layer
// builder decides the order (sorted by path bytes, parents first) and this only encodes.
// It refuses what the canonical form forbids: device nodes and FIFOs (runtimes create
// /dev), and a file whose content length differs from its header.
import { encodeHeader, END_OF_ARCHIVE, padding, type TarEntry } from './tar-header.js';

/** Padding source: never written to, so every entry can share it. */
const ZEROS = Buffer.alloc(512);

export class TarWriter {
  private readonly sink: (chunk: Buffer) => void | Promise<void>;
  /** Bytes written so far. */
  bytes = 0;

  constructor(sink: (chunk: Buffer) => void | Promise<void>) {
    this.sink = sink;
  }

  private async emit(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    await this.sink(chunk);
  }

  /** Writes an entry; `content` is required for files and must hold exactly entry.size bytes. */
  async add(entry: TarEntry, content?: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    if (entry.type === 'char' || entry.type === 'block' || entry.type === 'fifo' || entry.type === 'other') {
      throw new TypeError(`tar: ${entry.path}: ${entry.type} entries are not written in canonical layers`);
    }
    await this.emit(encodeHeader(entry));
    if (entry.type !== 'file') return;
    let written = 0;
    if (content === undefined) {
      if (entry.size !== 0) throw new TypeError(`tar: ${entry.path}: missing content`);
    } else if (content instanceof Uint8Array) {
      written = content.byteLength;
      if (written !== entry.size) throw new TypeError(`tar: ${entry.path}: content is ${written} bytes, header says ${entry.size}`);
      await this.emit(Buffer.from(content.buffer, content.byteOffset, content.byteLength));
    } else {
      for await (const chunk of content) {
        written += chunk.byteLength;
        if (written > entry.size) throw new TypeError(`tar: ${entry.path}: content longer than ${entry.size} bytes`);
        await this.emit(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
      if (written !== entry.size) throw new TypeError(`tar: ${entry.path}: content is ${written} bytes, header says ${entry.size}`);
    }
    await this.emit(ZEROS.subarray(0, padding(entry.size)));
  }

  async finish(): Promise<void> {
    await this.emit(END_OF_ARCHIVE);
  }
}

/** Writes a whole tar to memory (small archives: control.tar, fixtures, tests). */
export async function tarToBuffer(entries: Array<{ entry: TarEntry; content?: Uint8Array }>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const writer = new TarWriter((c) => {
    chunks.push(c);
  });
  for (const { entry, content } of entries) await writer.add(entry, content);
  await writer.finish();
  return Buffer.concat(chunks);
}
