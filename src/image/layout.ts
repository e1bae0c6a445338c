// Owns writing images to disk: an OCI image layout directory (image-spec "image-layout"),
// an oci-archive (that layout as one tar) and a docker-archive (`docker save`'s format, which
// `docker load` and `podman load` accept). Outputs are written to a temporary sibling and
// renamed into place at the end, so a failure never leaves a half-written image behind.
import { createReadStream } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decompress } from '../archive/decompress.js';
import { StrataError } from '../errors.js';
import { canonicalJson } from '../digest/canonical-json.js';
import { TarWriter } from '../archive/tar-writer.js';
import { ANNOTATION, MEDIA, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from './oci.js';

export type BlobSource = { kind: 'bytes'; bytes: Buffer } | { kind: 'file'; path: string; size: number };

export interface BuiltImage {
  /** The descriptor index.json points to: a manifest (one platform) or an index (several). */
  root: Descriptor;
  /** Every blob reachable from root, by digest. */
  blobs: Map<string, BlobSource>;
  /** For docker-archive: per platform, the manifest and config. */
  platforms: Array<{ manifest: ImageManifest; config: ImageConfig; configDigest: string }>;
  /** Artifact manifests (SBOMs, provenance) whose subject is root or one of its manifests;
   * their blobs are in `blobs`. Listed in index.json without a tag, as image-layout 1.1 allows. */
  referrers?: Descriptor[];
}

function hexOf(digest: string): string {
  return digest.replace(/^sha256:/, '');
}

function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export function topIndex(image: BuiltImage, tag: string): Buffer {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{ ...image.root, annotations: { ...(image.root.annotations ?? {}), [ANNOTATION.refName]: tag } }, ...(image.referrers ?? [])],
  };
  return Buffer.from(canonicalJson(index));
}

const OCI_LAYOUT = Buffer.from(canonicalJson({ imageLayoutVersion: '1.0.0' }));

async function placeBlob(source: BlobSource, target: string): Promise<void> {
  if (source.kind === 'bytes') {
    await writeFile(target, source.bytes);
    return;
  }
  try {
    await link(source.path, target); // same file system: no copy; blobs are immutable
  } catch {
    await copyFile(source.path, target);
  }
}

/**
 * Refuses to overwrite what is not ours to overwrite: an existing output may be replaced only
 * when it is an OCI layout (a directory with oci-layout) for a layout, or a regular file for
 * an archive. A source tree, the current directory or a file in the way is never deleted.
 */
export async function checkOutputPath(path: string, kind: 'layout' | 'archive'): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StrataError('IO_ERROR', `cannot use ${path} as the output: ${(e as Error).message}`, { cause: e });
  }
  if (kind === 'archive') {
    if (!st.isFile()) {
      throw new StrataError('USAGE', `${path} exists and is not a file; an archive would replace it`, { hint: 'choose another -o path, or remove it yourself' });
    }
    return;
  }
  if (!st.isDirectory()) {
    throw new StrataError('USAGE', `${path} exists and is not a directory; the OCI layout would replace it`, { hint: 'choose another -o path, or remove it yourself' });
  }
  const entries = await readdir(path);
  const isLayout = entries.includes('oci-layout') && entries.every((e) => ['oci-layout', 'index.json', 'blobs'].includes(e));
  if (entries.length > 0 && !isLayout) {
    throw new StrataError('USAGE', `${path} is a non-empty directory that is not an OCI image layout; strata replaces only its own output`, {
      detail: { path, entries: entries.slice(0, 5) },
      hint: 'give -o a new path (such as NAME.oci) or the path of an earlier strata build',
    });
  }
}

async function replaceDir(temp: string, target: string): Promise<void> {
  const old = `${tempSibling(target)}.old`;
  let moved = false;
  try {
    await rename(target, old);
    moved = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await rename(temp, target);
  if (moved) await rm(old, { recursive: true, force: true });
}

export async function writeOciLayout(dir: string, image: BuiltImage, tag: string): Promise<void> {
  await checkOutputPath(dir, 'layout');
  const temp = tempSibling(dir);
  try {
    await mkdir(dirname(dir), { recursive: true });
    await mkdir(join(temp, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(temp, 'oci-layout'), OCI_LAYOUT);
    for (const [digest, source] of [...image.blobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      await placeBlob(source, join(temp, 'blobs', 'sha256', hexOf(digest)));
    }
    await writeFile(join(temp, 'index.json'), topIndex(image, tag));
    await replaceDir(temp, dir);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw new StrataError('IO_ERROR', `cannot write the image layout ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

async function* fileChunks(path: string, layerMediaType?: string): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  if (layerMediaType === undefined) {
    yield* stream as AsyncIterable<Buffer>;
    return;
  }
  // A docker-archive holds each layer uncompressed: gzip and zstd layers are decompressed.
  const compression = layerMediaType.endsWith('+zstd') ? 'zstd' : layerMediaType.endsWith('+gzip') || layerMediaType.endsWith('.gzip') ? 'gzip' : 'none';
  yield* decompress(stream, compression, path);
}

async function writeTarFile(path: string, mtime: number, fill: (tar: TarWriter) => Promise<void>): Promise<void> {
  await checkOutputPath(path, 'archive');
  const temp = tempSibling(path);
  let file;
  try {
    await mkdir(dirname(path), { recursive: true });
    file = await open(temp, 'w');
  } catch (e) {
    throw new StrataError('IO_ERROR', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message}`, {
      cause: e,
      hint: 'choose an output path in a directory you can write to',
    });
  }
  let position = 0;
  try {
    const tar = new TarWriter(async (chunk) => {
      await file.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    });
    await fill(tar);
    await tar.finish();
    await file.close();
    await rename(temp, path);
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw new StrataError('IO_ERROR', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
  void mtime;
}

function sizeOf(source: BlobSource): number {
  return source.kind === 'bytes' ? source.bytes.length : source.size;
}

function content(source: BlobSource): Buffer | AsyncIterable<Buffer> {
  return source.kind === 'bytes' ? source.bytes : fileChunks(source.path);
}

/** The OCI layout as one tar (what `skopeo copy oci-archive:FILE` reads). */
export async function writeOciArchive(path: string, image: BuiltImage, tag: string, mtime: number): Promise<void> {
  const index = topIndex(image, tag);
  await writeTarFile(path, mtime, async (tar) => {
    const dir = (p: string) => tar.add({ path: p, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime });
    const f = (p: string, size: number, c: Buffer | AsyncIterable<Buffer>) => tar.add({ path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime }, c);
    await dir('blobs');
    await dir('blobs/sha256');
    for (const [digest, source] of [...image.blobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      await f(`blobs/sha256/${hexOf(digest)}`, sizeOf(source), content(source));
    }
    await f('index.json', index.length, index);
    await f('oci-layout', OCI_LAYOUT.length, OCI_LAYOUT);
  });
}

/**
 * `docker save`'s format: manifest.json, the config as <hex>.json and each layer uncompressed
 * as <diffid-hex>/layer.tar, which every docker and podman version loads. One platform only.
 */
export async function writeDockerArchive(path: string, image: BuiltImage, repoTag: string, mtime: number): Promise<void> {
  if (image.platforms.length !== 1) {
    throw new StrataError('USAGE', `a docker-archive holds one platform, and this image has ${image.platforms.length}`, {
      hint: 'use --format oci-archive (or the default OCI layout) for a multi-architecture image',
    });
  }
  const { manifest, config, configDigest } = image.platforms[0]!;
  const configSource = image.blobs.get(configDigest)!;
  const layerPaths = config.rootfs.diff_ids.map((d) => `${hexOf(d)}/layer.tar`);
  const docs = Buffer.from(canonicalJson([{ Config: `${hexOf(configDigest)}.json`, RepoTags: [repoTag], Layers: layerPaths }]));
  const [repo, tag] = repoTag.includes(':') ? [repoTag.slice(0, repoTag.lastIndexOf(':')), repoTag.slice(repoTag.lastIndexOf(':') + 1)] : [repoTag, 'latest'];
  const repositories = Buffer.from(canonicalJson({ [repo]: { [tag]: hexOf(config.rootfs.diff_ids[config.rootfs.diff_ids.length - 1] ?? '') } }));
  const entries: Array<{ path: string; dir?: boolean; size?: number; content?: () => Buffer | AsyncIterable<Buffer> }> = [];
  entries.push({ path: `${hexOf(configDigest)}.json`, size: sizeOf(configSource), content: () => content(configSource) });
  manifest.layers.forEach((layer, i) => {
    const diffHex = hexOf(config.rootfs.diff_ids[i]!);
    const source = image.blobs.get(layer.digest)!;
    if (source.kind !== 'file') throw new StrataError('INTERNAL', 'layer blobs are files');
    entries.push({ path: diffHex, dir: true });
    entries.push({ path: `${diffHex}/layer.tar`, size: -1, content: () => fileChunks(source.path, layer.mediaType) });
  });
  entries.push({ path: 'manifest.json', size: docs.length, content: () => docs });
  entries.push({ path: 'repositories', size: repositories.length, content: () => repositories });
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const uncompressed = new Map<string, number>();
  for (const [i, layer] of manifest.layers.entries()) {
    const source = image.blobs.get(layer.digest)!;
    let n = 0;
    for await (const c of fileChunks((source as { path: string }).path, layer.mediaType)) n += c.length;
    uncompressed.set(`${hexOf(config.rootfs.diff_ids[i]!)}/layer.tar`, n);
  }
  await writeTarFile(path, mtime, async (tar) => {
    for (const e of entries) {
      if (e.dir) await tar.add({ path: e.path, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime });
      else {
        const size = e.size === -1 ? uncompressed.get(e.path)! : e.size!;
        await tar.add({ path: e.path, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime }, e.content!());
      }
    }
  });
}
