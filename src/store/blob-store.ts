// Owns the BlobStore contract: where a registry keeps what it serves. Two kinds of things:
//   blobs    immutable, content-addressed by sha256 (layers, configs, manifests); a write is
//            verified against its digest before it becomes visible, and is idempotent
//   records  small mutable documents under a key (tag → digest, snapshots, referrers); a
//            write replaces the whole record atomically, so a reader sees the old or the new
//
// Drivers implement the required members; the optional ones are capabilities that callers
// probe at the call site, with the fallback written next to each. Every driver passes the one
// conformance suite in test/helpers/store-conformance.ts.
import { StrataError } from '../errors.js';
import { isSha256Hex } from '../digest/sha256.js';

/** An inclusive byte range, as HTTP's Range header gives it. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStore {
  /** What backs the store, for logs and the home page: "fs:/srv/strata", "s3://bucket/prefix". */
  readonly description: string;
  /** The blob's size, or undefined when the store does not hold it. */
  stat(digest: string): Promise<{ size: number } | undefined>;
  /**
   * The blob's bytes (all of them, or the range), or undefined when the store does not hold it.
   * The iterable may be a Node Readable; the HTTP layer pipes those without copying.
   */
  read(digest: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined>;
  /**
   * Stores a blob. The bytes are hashed as they arrive and the blob becomes visible only when
   * the whole content matches `digest` (and `size`, when given); otherwise DIGEST_INVALID and
   * nothing is kept. Writing a blob the store already holds is a no-op.
   */
  write(digest: string, content: Uint8Array | AsyncIterable<Uint8Array>, size?: number): Promise<void>;
  /** A record's bytes, or undefined. Keys are `/`-separated segments of [A-Za-z0-9._:-]. */
  readRecord(key: string): Promise<Uint8Array | undefined>;
  /** Replaces a record atomically. */
  writeRecord(key: string, bytes: Uint8Array): Promise<void>;
  /** Keys of the records under `prefix` (which ends with `/`), sorted by their bytes. */
  listRecords(prefix: string): Promise<string[]>;

  // Optional capabilities.
  /**
   * Stores a blob from a local file that already holds exactly `digest` (a verified cache
   * entry), e.g. with a hard link. Fallback: `write(digest, createReadStream(path))`.
   */
  writeFile?(digest: string, path: string, size: number): Promise<void>;
  /**
   * A URL where clients may fetch the blob themselves (an S3 presigned GET); the registry then
   * answers with a redirect. Fallback: serve the bytes from `read`.
   */
  url?(digest: string): Promise<string | undefined>;
  /**
   * Sends the blob (or the range) to `write` through a few reused buffers: a chunk is valid
   * only until the promise `write` returned for it resolves, and `pump` keeps a bounded number
   * of chunks in flight. Returns false when the store does not hold the blob. Fallback: `read`,
   * which allocates every chunk (measured: a third less throughput when serving big layers).
   */
  pump?(digest: string, range: ByteRange | undefined, write: (chunk: Uint8Array) => Promise<void>): Promise<boolean>;
  /** Removes a record (an absent one is fine). Fallback: none needed by the registry. */
  deleteRecord?(key: string): Promise<void>;
  /** Releases connections and handles. */
  close?(): Promise<void>;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;
const RECORD_KEY = /^[A-Za-z0-9._:-]+(\/[A-Za-z0-9._:-]+)*$/;

/** The hex part of a sha256 digest; DIGEST_INVALID for anything else. */
export function digestHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (m === null || !isSha256Hex(m[1])) {
    throw new StrataError('DIGEST_INVALID', `${JSON.stringify(digest.slice(0, 100))} is not a sha256 digest (sha256: followed by 64 lower-case hex digits)`);
  }
  return m[1]!;
}

/** Checks a record key: no empty, `.` or `..` segment, nothing outside the safe set. */
export function checkRecordKey(key: string): string {
  if (!RECORD_KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..') || key.length > 1024) {
    throw new StrataError('INTERNAL', `${JSON.stringify(key.slice(0, 200))} is not a valid store record key`);
  }
  return key;
}

/** Collects an iterable of chunks into one buffer (small blobs: manifests, configs). */
export async function readAll(content: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of content) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return Buffer.concat(chunks);
}

/** A whole small blob, or undefined. */
export async function readBlobBytes(store: BlobStore, digest: string): Promise<Buffer | undefined> {
  const content = await store.read(digest);
  return content === undefined ? undefined : readAll(content);
}

/** A JSON record, or undefined; a record that is not JSON is a store error. */
export async function readJsonRecord<T>(store: BlobStore, key: string): Promise<T | undefined> {
  const bytes = await store.readRecord(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch (e) {
    throw new StrataError('STORE_ERROR', `record ${key} of ${store.description} is not JSON: ${(e as Error).message}`, {
      hint: 'the store was changed by something else than strata; remove the record to let the server write it again',
    });
  }
}
