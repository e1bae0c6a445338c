// Owns pulling exact byte counts out of a chunked async stream, which the ar and tar
// readers need: they read fixed-size headers, then stream or skip member bodies.

export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes consumed so far: the offset of the next byte. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** The next chunk of the source, or undefined at its end. */
  private async next(): Promise<Buffer | undefined> {
    if (this.ended) return undefined;
    const next = await this.iterator.next();
    if (next.done === true) {
      this.ended = true;
      return undefined;
    }
    return Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
  }

  private async fill(): Promise<boolean> {
    const chunk = await this.next();
    if (chunk === undefined) return false;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    if (this.buffer.length < n) {
      // Copy only the n bytes asked for; what follows stays a view of the last chunk (a
      // header that spans two chunks must not copy the whole of the next one).
      const parts: Buffer[] = [this.buffer];
      let have = this.buffer.length;
      while (have < n) {
        const chunk = await this.next();
        if (chunk === undefined) break;
        parts.push(chunk);
        have += chunk.length;
      }
      const take = Math.min(n, have);
      const out = Buffer.concat(parts, take);
      const last = parts[parts.length - 1]!;
      this.buffer = have > take ? last.subarray(last.length - (have - take)) : Buffer.alloc(0);
      this.position += take;
      return out;
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    this.position += n;
    return out;
  }

  /** Streams the next n bytes in chunks as they arrive. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffer.length === 0 && !(await this.fill())) return;
      const take = Math.min(left, this.buffer.length);
      const out = this.buffer.subarray(0, take);
      this.buffer = this.buffer.subarray(take);
      this.position += take;
      left -= take;
      yield out;
    }
  }

  async skip(n: number): Promise<number> {
    let skipped = 0;
    for await (const chunk of this.stream(n)) skipped += chunk.length;
    return skipped;
  }

  async atEnd(): Promise<boolean> {
    if (this.buffer.length > 0) return false;
    return !(await this.fill());
  }

  /** Stops the underlying stream early. */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}
