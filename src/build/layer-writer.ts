// Owns writing one layer: canonical entries (already sorted, parents first, one per path)
// through the tar writer and the pinned gzip (or the optional chunked zstd) into the cache's
// blob store. The DiffID
// (sha256 of the tar) and the blob digest are computed while streaming; the blob becomes
// visible only after it is complete (temp file, then rename by digest).
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { TarEntry } from '../archive/tar-header.js';
import { TarWriter } from '../archive/tar-writer.js';
import type { DeflatePool } from '../archive/deflate-pool.js';
import { GzipStream } from '../archive/gzip-stream.js';
import { ZstdStream } from '../archive/zstd-stream.js';
import type { CacheDir } from '../cache/cache-dir.js';

export interface LayerItem {
  entry: TarEntry;
  content?: () => AsyncIterable<Uint8Array>;
}

export interface WrittenLayer {
  /** sha256:… of the uncompressed tar. */
  diffId: string;
  /** sha256:… of the compressed blob. */
  digest: string;
  size: number;
  uncompressedSize: number;
}

export type LayerCompression = 'gzip' | 'zstd';

export async function writeLayer(items: LayerItem[], cache: CacheDir, pool: DeflatePool, compression: LayerCompression = 'gzip'): Promise<WrittenLayer> {
  const temp = cache.tempPath('layer');
  const file = await open(temp, 'w');
  const blobHash = createHash('sha256');
  const tarHash = createHash('sha256');
  let committed = false;
  let position = 0;
  try {
    const gzip = new (compression === 'zstd' ? ZstdStream : GzipStream)(
      pool,
      async (chunk) => {
        blobHash.update(chunk);
        await file.write(chunk, 0, chunk.length, position);
        position += chunk.length;
      },
      (chunk) => tarHash.update(chunk),
    );
    const tar = new TarWriter((chunk) => gzip.write(chunk));
    for (const item of items) await tar.add(item.entry, item.content?.());
    await tar.finish();
    const uncompressedSize = await gzip.end();
    await file.close();
    const digest = blobHash.digest('hex');
    await cache.commitBlob(temp, digest);
    committed = true;
    return { diffId: `sha256:${tarHash.digest('hex')}`, digest: `sha256:${digest}`, size: position, uncompressedSize };
  } finally {
    await file.close().catch(() => undefined);
    if (!committed) await rm(temp, { force: true });
  }
}
