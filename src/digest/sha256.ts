// Owns sha256 digests: hex helpers and a hashing pass-through for streams.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export type Sha256Hex = string;

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: unknown): value is Sha256Hex {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

export function sha256Hex(data: string | Uint8Array): Sha256Hex {
  return createHash('sha256').update(data).digest('hex');
}

/** A Transform that passes bytes through unchanged and counts and hashes them. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private result: Sha256Hex | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.result = this.hash.digest('hex');
    done();
  }

  /** The digest; only defined once the stream has ended. */
  get digest(): Sha256Hex | undefined {
    return this.result;
  }
}
