// Owns decompression of the formats Debian uses (xz, gzip, zstd, none), as async byte
// streams. Output bytes are fully determined by the input, so the decoder may vary by host:
// xz runs in the host's `xz` (liblzma, the decoder apt itself uses) in a second process when
// one is on PATH, on the other core, and falls back to a pure WASM decoder otherwise.
// gzip uses node:zlib; zstd uses fzstd (pure JS; Node 20's zlib has no zstd).
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, readSync } from 'node:fs';
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { StrataError } from '../errors.js';
import { xzDecompressedSize } from './xz-index.js';

export type Compression = 'xz' | 'gzip' | 'zstd' | 'none';

export function compressionOfName(name: string): Compression | undefined {
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.gz')) return 'gzip';
  if (name.endsWith('.zst')) return 'zstd';
  if (name.endsWith('.tar') || !/\.[a-z0-9]+$/.test(name)) return 'none';
  return undefined;
}

let xzBinary: string | null | undefined;

/** The host's xz, or null; STRATA_XZ=wasm forces the WASM decoder (tests, odd hosts). */
export function hostXz(): string | null {
  if (xzBinary !== undefined) return xzBinary;
  xzBinary = null;
  if (process.env.STRATA_XZ !== 'wasm') {
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
      const candidate = join(dir, 'xz');
      try {
        accessSync(candidate, fsConstants.X_OK);
        xzBinary = candidate;
        break;
      } catch {
        // not here
      }
    }
  }
  return xzBinary;
}

function corrupt(what: string, cause: unknown): StrataError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StrataError('DEB_INVALID', `${what}: corrupt compressed data (${reason})`, { cause });
}

/** Decompresses a byte stream. `what` names the input in errors. */
export async function* decompress(input: AsyncIterable<Uint8Array>, compression: Compression, what: string): AsyncGenerator<Buffer> {
  switch (compression) {
    case 'none':
      for await (const chunk of input) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      return;
    case 'gzip': {
      const gunzip = createGunzip({ chunkSize: 256 * 1024 });
      try {
        yield* Readable.from(input).pipe(gunzip) as AsyncIterable<Buffer>;
      } catch (e) {
        throw corrupt(what, e);
      }
      return;
    }
    case 'zstd':
      yield* zstdDecompress(input, what);
      return;
    case 'xz': {
      const xz = hostXz();
      if (xz === null) yield* wasmXz(input, what);
      else yield* processXz(xz, input, what);
      return;
    }
  }
}

async function* zstdDecompress(input: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  const { Decompress } = await import('fzstd');
  const out: Buffer[] = [];
  const decoder = new Decompress((chunk: Uint8Array) => {
    out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  try {
    for await (const chunk of input) {
      decoder.push(chunk);
      while (out.length > 0) yield out.shift()!;
    }
    decoder.push(new Uint8Array(0), true);
  } catch (e) {
    throw corrupt(what, e);
  }
  while (out.length > 0) yield out.shift()!;
}

async function* wasmXz(input: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  // xz-decompress is a webpack UMD bundle: Node's ESM loader cannot see its named exports, so
  // the class is on the CommonJS default export.
  const mod = (await import('xz-decompress')) as typeof import('xz-decompress') & { default?: typeof import('xz-decompress') };
  const XzReadableStream = mod.XzReadableStream ?? mod.default!.XzReadableStream;
  const source = ReadableStream.from(input) as ReadableStream<Uint8Array>;
  const reader = (new XzReadableStream(source) as unknown as ReadableStream<Uint8Array>).getReader();
  let settled = false;
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (e) {
        settled = true;
        throw corrupt(what, e);
      }
      if (next.done) {
        settled = true;
        return;
      }
      yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  } finally {
    // The consumer stopped early (a tar ends before its member does). Cancelling would make
    // xz-decompress 0.2.3 dispose its decoder a second time when the stream has already ended
    // (a TypeError) and release its lock twice, so read to the end instead.
    if (!settled) {
      try {
        while (!(await reader.read()).done);
      } catch {
        // the decoder failed after the consumer stopped: nothing is left to release
      }
    }
  }
}

async function* processXz(xz: string, input: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  const child = spawn(xz, ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        if (!child.stdin.write(chunk)) await new Promise<void>((r) => child.stdin.once('drain', r));
      }
    } catch (e) {
      child.kill();
      throw e;
    } finally {
      child.stdin.end();
    }
  })();
  child.stdin.on('error', () => undefined); // EPIPE when xz stops early on corrupt data
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    await feeding;
    const code = await exited;
    finished = true;
    if (code !== 0) throw corrupt(what, new Error(stderr.trim() || `xz exited with ${code}`));
  } finally {
    if (!finished) child.kill();
    await feeding.catch(() => undefined);
  }
}

export interface DecompressFileOptions {
  /**
   * The caller is done with each chunk before it asks for the next one (it decodes or copies
   * it at once), so a chunk may be a view of a buffer that the next read reuses.
   */
  transient?: boolean;
}

/**
 * Decompresses a file. For xz with the host's xz, the decoder writes to a scratch file that
 * this reads as it grows: no pipe in between, so neither side waits on a 64 KiB buffer and
 * the two cores overlap fully (the index parse then costs about what `xz -dc` alone costs).
 */
export async function* decompressFile(path: string, compression: Compression, what: string, scratchPath?: string, options: DecompressFileOptions = {}): AsyncGenerator<Buffer> {
  const xz = compression === 'xz' ? hostXz() : null;
  if (xz === null || scratchPath === undefined) {
    const handle = await open(path, 'r');
    try {
      yield* decompress(handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false }), compression, what);
    } finally {
      await handle.close();
    }
    return;
  }
  const out = await open(scratchPath, 'w+');
  const child = spawn(xz, ['-dc', '-q', path], { stdio: ['ignore', out.fd, 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  const buffer = Buffer.allocUnsafe(1 << 20);
  let position = 0;
  try {
    for (;;) {
      const done = exitCode !== undefined;
      // A synchronous read: the scratch file is local and in the page cache, so this costs a
      // copy, where an asynchronous read costs a thread-pool round trip and a promise for each
      // of the several hundred chunks of an index.
      const bytesRead = readSync(out.fd, buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        yield options.transient ? buffer.subarray(0, bytesRead) : Buffer.from(buffer.subarray(0, bytesRead));
        continue;
      }
      if (done) break;
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2))]);
    }
    if (exitCode !== 0) throw corrupt(what, new Error(stderr.trim() || `xz exited with ${exitCode}`));
  } finally {
    if (exitCode === undefined) child.kill();
    await exited;
    await out.close();
  }
}

/**
 * Decompresses `length` bytes of `input`, read from its current position on (a .deb's data
 * member), into `output` from offset 0; returns the decompressed size. When the bytes run to
 * the end of the input file (`trailing`: how many bytes follow them, at most the ar padding
 * byte) and the host has xz, xz reads the input file itself and writes `output` directly: no
 * byte passes through this process and this thread is free while xz runs on the other core.
 * Otherwise the bytes are read here and decoded as `decompress` does.
 */
export async function decompressToFile(input: FileHandle, length: number, trailing: number | undefined, compression: Compression, output: FileHandle, what: string): Promise<number> {
  const xz = compression === 'xz' && trailing !== undefined && trailing <= 1 ? hostXz() : null;
  if (xz !== null) {
    // The padding byte after an odd-sized member is not xz data: stop after the first stream.
    const child = spawn(xz, ['-dc', '-q', ...(trailing === 1 ? ['--single-stream'] : [])], { stdio: [input.fd, output.fd, 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    if (code !== 0) throw corrupt(what, new Error(stderr.trim() || `xz exited with ${code}`));
    return (await output.stat()).size;
  }
  const chunks = async function* (): AsyncGenerator<Buffer> {
    for (let left = length; left > 0; ) {
      const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20));
      const { bytesRead } = await input.read(buf, 0, buf.length, null);
      if (bytesRead === 0) throw new StrataError('DEB_INVALID', `${what}: truncated (${left} bytes missing)`);
      left -= bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  };
  let position = 0;
  for await (const chunk of decompress(chunks(), compression, what)) {
    await output.write(chunk, 0, chunk.length, position);
    position += chunk.length;
  }
  return position;
}

/**
 * Decompresses several small xz inputs (each one or more whole streams, such as the control
 * members of many .debs) with one run of the host's xz, which decodes concatenated streams
 * in turn; the output is split by the sizes the streams' indexes record. Undefined when that
 * is not possible (no host xz, an input whose index does not parse, a decoding error): the
 * caller then decompresses the inputs one by one, which also names the one at fault.
 */
export async function decompressXzBatch(inputs: Uint8Array[]): Promise<Buffer[] | undefined> {
  const xz = hostXz();
  if (xz === null || inputs.length === 0) return undefined;
  const sizes: number[] = [];
  for (const input of inputs) {
    const size = xzDecompressedSize(input);
    if (size === undefined) return undefined;
    sizes.push(size);
  }
  const child = spawn(xz, ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const parts: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => parts.push(c));
  child.stdin!.on('error', () => undefined); // EPIPE when xz stops on bad data
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', (c) => resolve(c));
    child.stdin!.end(Buffer.concat(inputs));
  });
  const out = Buffer.concat(parts);
  if (code !== 0 || out.length !== sizes.reduce((a, b) => a + b, 0)) return undefined;
  let offset = 0;
  return sizes.map((size) => out.subarray(offset, (offset += size)));
}

const SAFE_WORD = /^[A-Za-z0-9._/+-]+$/;

/**
 * Decodes byte ranges of files (the data members of .debs) with the host's xz into output
 * files, through one long-lived `xargs` that starts `dd | xz` for each. A process as large as
 * a build blocks for several milliseconds in every spawn() (the kernel copies its page tables,
 * then waits for the child to exec), and costs more the more memory it holds; xargs is small,
 * and this thread only writes a line per member. Paths are relative to `cwd` and must be plain
 * words; `decode` returns undefined when it cannot take a job (the caller decodes it itself).
 */
export class XzRangeDecoder {
  private readonly cwd: string;
  private child: ReturnType<typeof spawn> | undefined;
  private failed = false;
  private nextId = 0;
  private readonly pending = new Map<number, (status: number) => void>();
  private buffered = '';

  constructor(cwd: string) {
    this.cwd = cwd;
  }

  private start(xz: string): ReturnType<typeof spawn> | undefined {
    if (this.failed) return undefined;
    if (this.child !== undefined) return this.child;
    // $1 id, $2 input, $3 offset, $4 length, $5 xz, $6 output. The pipeline's status is xz's:
    // a short read by dd shows as truncated xz input.
    const script = 'dd if="$2" bs=1M iflag=skip_bytes,count_bytes skip="$3" count="$4" status=none | "$5" -dcq > "$6" 2> "$6.err"; echo "$1 $?"';
    const child = spawn('xargs', ['-P', '16', '-L', '1', 'sh', '-c', script, 'sh'], { cwd: this.cwd, stdio: ['pipe', 'pipe', 'ignore'] });
    child.on('error', () => {
      this.failed = true;
      for (const done of this.pending.values()) done(-1);
      this.pending.clear();
    });
    child.on('close', () => {
      this.failed = true; // nothing more can be sent to it
      for (const done of this.pending.values()) done(-1);
      this.pending.clear();
    });
    child.stdin!.on('error', () => undefined);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.buffered += s;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const [id, status] = this.buffered.slice(0, nl).split(' ').map(Number) as [number, number];
        this.buffered = this.buffered.slice(nl + 1);
        const done = this.pending.get(id);
        this.pending.delete(id);
        done?.(status);
      }
    });
    this.child = child;
    return child;
  }

  /**
   * Decodes `length` bytes of `input` from `offset` into `output` (which exists: it is
   * truncated). Resolves true when done, false when the runner could not run it (no xargs, or
   * it stopped): the caller then decodes the member itself.
   */
  decode(input: string, offset: number, length: number, output: string, what: string): Promise<boolean> | undefined {
    const xz = hostXz();
    if (xz === null || ![input, output, xz].every((w) => SAFE_WORD.test(w))) return undefined;
    const child = this.start(xz);
    if (child === undefined) return undefined;
    const id = this.nextId++;
    return new Promise<boolean>((resolve, reject) => {
      this.pending.set(id, (status) => {
        if (status <= 0) {
          rm(`${this.cwd}/${output}.err`, { force: true }).then(() => resolve(status === 0), reject);
          return;
        }
        readFile(`${this.cwd}/${output}.err`, 'utf8')
          .catch(() => '')
          .then(async (stderr) => {
            await rm(`${this.cwd}/${output}.err`, { force: true });
            reject(corrupt(what, new Error(stderr.trim() || `xz exited with ${status}`)));
          }, reject);
      });
      child.stdin!.write(`${id} ${input} ${offset} ${length} ${xz} ${output}\n`);
    });
  }

  /** Lets the runner exit once its jobs are done. */
  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined || this.failed || child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.once('error', () => resolve());
    });
    child.stdin!.end();
    await closed;
  }
}
