// Owns strata's optional zstd layers (`layers: {compression: zstd}`): the layer is split into
// independent 4 MiB chunks, each compressed at level 3 into its own zstd frame by a pinned
// WebAssembly build of zstd (@bokuweb/zstd-wasm), and the frames are concatenated — a valid
// zstd stream (RFC 8878 §3.1) that any decoder reads. Each frame depends only on its chunk, so
// any number of workers gives the same bytes, and the pinned WASM gives them on every CPU.
import { createRequire } from 'node:module';

export const ZSTD_CHUNK_SIZE = 4 << 20;
export const ZSTD_LEVEL = 3;

/** The compressor's identity, recorded in annotations and layer-cache keys. */
export const ZSTD_IDENTITY = 'strata-zstd/1 (zstd level 3; 4 MiB independent frames; @bokuweb/zstd-wasm 0.0.27)';

type ZstdModule = { init(): Promise<void>; compress(data: Uint8Array, level: number): Uint8Array };
let ready: Promise<ZstdModule> | undefined;

/** Loads and initialises the WASM module once per thread. */
export function zstdModule(): Promise<ZstdModule> {
  ready ??= (async () => {
    // The package's Node entry is CommonJS; require it to get its functions directly.
    const mod = createRequire(import.meta.url)('@bokuweb/zstd-wasm') as ZstdModule;
    await mod.init();
    return mod;
  })();
  return ready;
}

/** One chunk → one zstd frame. */
export async function zstdFrame(chunk: Uint8Array): Promise<Buffer> {
  const zstd = await zstdModule();
  const out = zstd.compress(chunk, ZSTD_LEVEL);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
