// Rewrites an OCI layout the way a careless image builder would have written it, to give
// `strata verify` and `strata diff` deliberately non-reproducible inputs: a layer re-tarred
// with its entries changed (mtimes, owners, order), a compressed blob edited in place (a gzip
// header with a time stamp), a config serialised with its keys in another order. Every
// digest that depends on the change is recomputed (DiffID, blob, config, manifest,
// index.json), so the result is a valid layout that tools accept — only its bytes differ.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readTar } from '../../src/archive/tar-reader.js';
import { tarToBuffer } from '../../src/archive/tar-writer.js';
import type { TarEntry } from '../../src/archive/tar-header.js';
import { gzipChunkedSync } from '../../src/archive/gzip-chunked.js';
import { canonicalJson } from '../../src/digest/canonical-json.js';
import type { ImageConfig, ImageIndex, ImageManifest } from '../../src/image/oci.js';

export interface TarItem {
  entry: TarEntry;
  content?: Buffer;
}

export interface Doctoring {
  /** Re-tar one layer with its entries transformed (compressed with strata's own gzip). */
  layer?: { index: number; transform: (items: TarItem[]) => TarItem[] | Promise<TarItem[]> };
  /** Edit one layer's stored (compressed) bytes. */
  blob?: { index: number; transform: (bytes: Buffer) => Buffer };
  /** Serialise the config another way (receives the parsed value). */
  config?: (config: ImageConfig) => Buffer;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blobPath = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));

export async function readLayerItems(gz: Buffer): Promise<TarItem[]> {
  const items: TarItem[] = [];
  const tar = gunzipSync(gz);
  for await (const it of readTar((async function* () {
    yield tar;
  })(), 'layer')) {
    const chunks: Buffer[] = [];
    for await (const c of it.body) chunks.push(c);
    // The reader keeps paths as stored ("usr/"); the writer adds the directory slash itself.
    const entry = { ...it.entry, path: it.entry.path.replace(/\/$/, '') };
    items.push(entry.type === 'file' ? { entry, content: Buffer.concat(chunks) } : { entry });
  }
  return items;
}

async function writeBlob(dir: string, bytes: Buffer): Promise<string> {
  const digest = sha(bytes);
  await writeFile(blobPath(dir, digest), bytes);
  return digest;
}

export interface LayoutParts {
  index: ImageIndex;
  manifest: ImageManifest;
  config: ImageConfig;
}

export async function readLayout(dir: string): Promise<LayoutParts> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  const manifest = JSON.parse(await readFile(blobPath(dir, index.manifests[0]!.digest), 'utf8')) as ImageManifest;
  const config = JSON.parse(await readFile(blobPath(dir, manifest.config.digest), 'utf8')) as ImageConfig;
  return { index, manifest, config };
}

/** The index of the layer whose strata annotation names a package. */
export function layerOf(manifest: ImageManifest, pkg: string): number {
  const i = manifest.layers.findIndex((l) => (l.annotations?.['dev.strata.layer.packages'] ?? '').split(',').some((x) => x.startsWith(`${pkg}=`)));
  if (i < 0) throw new Error(`no layer holds ${pkg}`);
  return i;
}

/** Applies the doctoring in place; returns the new manifest digest. */
export async function doctorLayout(dir: string, d: Doctoring): Promise<string> {
  const { index, manifest, config } = await readLayout(dir);
  if (d.layer !== undefined) {
    const desc = manifest.layers[d.layer.index]!;
    const items = await d.layer.transform(await readLayerItems(await readFile(blobPath(dir, desc.digest))));
    const tar = await tarToBuffer(items);
    const gz = gzipChunkedSync(tar);
    manifest.layers[d.layer.index] = { ...desc, digest: await writeBlob(dir, gz), size: gz.length };
    config.rootfs.diff_ids[d.layer.index] = sha(tar);
  }
  if (d.blob !== undefined) {
    const desc = manifest.layers[d.blob.index]!;
    const bytes = d.blob.transform(await readFile(blobPath(dir, desc.digest)));
    manifest.layers[d.blob.index] = { ...desc, digest: await writeBlob(dir, bytes), size: bytes.length };
  }
  const configBytes = d.config !== undefined ? d.config(config) : Buffer.from(canonicalJson(config));
  manifest.config = { ...manifest.config, digest: await writeBlob(dir, configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const manifestDigest = await writeBlob(dir, manifestBytes);
  index.manifests[0] = { ...index.manifests[0]!, digest: manifestDigest, size: manifestBytes.length };
  await writeFile(join(dir, 'index.json'), canonicalJson(index));
  return manifestDigest;
}

/** JSON with every object's keys in reverse order: the same values, other bytes. */
export function reversedKeysJson(value: unknown): Buffer {
  const rev = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rev);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().reverse().map((k) => [k, rev((v as Record<string, unknown>)[k])]));
    return v;
  };
  return Buffer.from(JSON.stringify(rev(value)));
}
