// Owns reading images from local storage, the inverse of layout.ts: an OCI image layout
// directory, an oci-archive (that layout as one tar) and a docker-archive (`docker save`,
// `podman save`, `strata build --format docker-archive`). Each becomes an OpenedImage
// (image-reader.ts). A layout or archive holding several images is narrowed by tag.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { sha256Hex } from '../digest/sha256.js';
import { ArchiveFile } from './archive-file.js';
import { readJsonDocument, readOciImage, type BlobReader, type ImageLayer, type LayerCompression, type OpenedImage } from './image-reader.js';
import { ANNOTATION, type Descriptor, type ImageConfig, type ImageIndex } from './oci.js';

export type LocalFormat = 'oci' | 'oci-archive' | 'docker-archive';

export interface LocalImageRef {
  path: string;
  /** The tag (OCI ref.name) or, for a docker-archive, the repo:tag to select. */
  tag?: string;
  /** Forces a format; by default a directory is an OCI layout and a file is sniffed. */
  format?: LocalFormat;
}

function blobKey(digest: string): string {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  if (m === null) throw new StrataError('IMAGE_INVALID', `${JSON.stringify(digest)} is not a digest`);
  return `blobs/${m[1]}/${m[2]}`;
}

function missing(label: string, what: string, e: unknown): StrataError {
  return new StrataError('IMAGE_INVALID', `${label}: ${what} is missing (${(e as Error).message})`, { cause: e, hint: 'the layout is incomplete: copy it again, or rebuild it' });
}

/** Picks the descriptor a tag names in a layout's index.json. */
export function selectRoot(label: string, index: ImageIndex, tag: string | undefined): Descriptor {
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  const tags = manifests.map((m) => m.annotations?.[ANNOTATION.refName]).filter((t): t is string => t !== undefined);
  if (tag !== undefined) {
    const found = manifests.find((m) => m.annotations?.[ANNOTATION.refName] === tag);
    if (found === undefined) throw new StrataError('IMAGE_NOT_FOUND', `${label} has no image tagged ${JSON.stringify(tag)}`, { hint: tags.length > 0 ? `its tags: ${tags.join(', ')}` : 'its images carry no tag; leave the tag out' });
    return found;
  }
  // Artifacts listed beside the image (`strata build --sbom` writes its SBOMs and provenance
  // there, with artifactType set) are not images to choose from.
  const images = manifests.filter((m) => m.artifactType === undefined);
  if (images.length === 1) return images[0]!;
  if (images.length === 0) throw new StrataError('IMAGE_INVALID', `${label}: index.json lists no image${manifests.length > 0 ? ` (only ${manifests.length} artifacts)` : ''}`);
  throw new StrataError('USAGE', `${label} holds ${images.length} images; say which one with PATH:TAG`, { hint: `its tags: ${tags.join(', ') || '(none)'}` });
}

async function openLayoutDir(dir: string, tag: string | undefined): Promise<OpenedImage> {
  const label = `OCI layout ${dir}${tag ? ` (tag ${tag})` : ''}`;
  let indexBytes: Buffer;
  try {
    await readFile(join(dir, 'oci-layout'));
    indexBytes = await readFile(join(dir, 'index.json'));
  } catch (e) {
    throw new StrataError('IMAGE_INVALID', `${dir} is not an OCI image layout (no oci-layout or index.json)`, { cause: e, hint: 'give an OCI layout directory (strata build, skopeo copy … oci:DIR:TAG), an oci-archive or a docker-archive' });
  }
  const index = (await readJsonDocument<ImageIndex>(label, 'index.json', 'index.json', async () => indexBytes)).value;
  const root = selectRoot(label, index, tag);
  const blobs: BlobReader = {
    read: async (digest) => {
      try {
        return await readFile(join(dir, blobKey(digest)));
      } catch (e) {
        throw missing(label, `blob ${digest}`, e);
      }
    },
    open: (digest) =>
      (async function* () {
        try {
          yield* createReadStream(join(dir, blobKey(digest)), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
        } catch (e) {
          throw missing(label, `blob ${digest}`, e);
        }
      })(),
  };
  return { ...(await readOciImage(label, 'oci-layout', root, blobs, async () => undefined)), layoutIndex: indexBytes };
}

async function openOciArchive(archive: ArchiveFile, tag: string | undefined): Promise<OpenedImage> {
  const label = `oci-archive ${archive.path}${tag ? ` (tag ${tag})` : ''}`;
  const indexDoc = await readJsonDocument<ImageIndex>(label, 'index.json', 'index.json', () => archive.read('index.json'));
  const root = selectRoot(label, indexDoc.value, tag);
  const blobs: BlobReader = { read: (d) => archive.read(blobKey(d)), open: (d) => archive.stream(blobKey(d)) };
  return { ...(await readOciImage(label, 'oci-archive', root, blobs, () => archive.close())), layoutIndex: indexDoc.bytes };
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function sniff(head: Buffer): LayerCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

async function openDockerArchive(archive: ArchiveFile, repoTag: string | undefined): Promise<OpenedImage> {
  const label = `docker-archive ${archive.path}${repoTag ? ` (${repoTag})` : ''}`;
  let entries: DockerManifestEntry[];
  try {
    entries = JSON.parse((await archive.read('manifest.json')).toString('utf8')) as DockerManifestEntry[];
  } catch (e) {
    if (e instanceof StrataError) throw e;
    throw new StrataError('IMAGE_INVALID', `${label}: manifest.json is not JSON`, { cause: e });
  }
  if (!Array.isArray(entries) || entries.length === 0) throw new StrataError('IMAGE_INVALID', `${label}: manifest.json lists no image`);
  let entry = entries[0]!;
  if (repoTag !== undefined) {
    const found = entries.find((e) => (e.RepoTags ?? []).some((t) => t === repoTag || t.endsWith(`/${repoTag}`)));
    if (found === undefined) throw new StrataError('IMAGE_NOT_FOUND', `${label} has no image tagged ${repoTag}`, { hint: `its tags: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ')}` });
    entry = found;
  } else if (entries.length > 1) {
    throw new StrataError('USAGE', `${label} holds ${entries.length} images; say which one with docker-archive:FILE:REPO:TAG`);
  }
  const configHex = /([0-9a-f]{64})(\.json)?$/.exec(entry.Config)?.[1] ?? sha256Hex(await archive.read(entry.Config));
  const config = await readJsonDocument<ImageConfig>(label, 'config', `sha256:${configHex}`, () => archive.read(entry.Config));
  const diffIds = config.value.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) throw new StrataError('IMAGE_INVALID', `${label}: the config lists ${diffIds.length} DiffIDs for ${entry.Layers.length} layers`);
  const layers: ImageLayer[] = [];
  for (const [i, path] of entry.Layers.entries()) {
    const compression = sniff(await archive.head(path, 4));
    layers.push({ index: i, diffId: diffIds[i]!, mediaType: `docker-archive ${compression === 'none' ? 'tar' : compression}`, compression, open: () => archive.stream(path) });
  }
  const c = config.value;
  const platform = [c.os ?? 'unknown', c.architecture ?? 'unknown', ...(c.variant ? [c.variant] : [])].join('/');
  return { label, format: 'docker-archive', platforms: [{ platform, config, layers }], digest: config.digest, close: () => archive.close() };
}

async function kindOf(path: string): Promise<'dir' | 'file' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** Opens a local image; undefined when nothing exists at the path. */
export async function openLocalImage(ref: LocalImageRef): Promise<OpenedImage | undefined> {
  const kind = await kindOf(ref.path);
  if (kind === undefined) return undefined;
  if (kind === 'dir') {
    if (ref.format !== undefined && ref.format !== 'oci') throw new StrataError('USAGE', `${ref.path} is a directory, not a ${ref.format}`);
    return openLayoutDir(ref.path, ref.tag);
  }
  if (ref.format === 'oci') throw new StrataError('USAGE', `${ref.path} is a file, not an OCI layout directory`, { hint: `use oci-archive:${ref.path}` });
  const archive = await ArchiveFile.open(ref.path);
  try {
    const isOci = archive.has('oci-layout') && archive.has('index.json');
    const isDocker = archive.has('manifest.json');
    if (ref.format === 'docker-archive' || (ref.format === undefined && !isOci && isDocker)) {
      if (!isDocker) throw new StrataError('IMAGE_INVALID', `${ref.path} is not a docker-archive (no manifest.json)`);
      return await openDockerArchive(archive, ref.tag);
    }
    if (!isOci) throw new StrataError('IMAGE_INVALID', `${ref.path} is neither an oci-archive nor a docker-archive (no index.json or manifest.json)`, { hint: 'give an OCI layout directory, an oci-archive or a docker-archive' });
    return await openOciArchive(archive, ref.tag);
  } catch (e) {
    await archive.close();
    throw e;
  }
}

/** Whether something exists at a local path (the reference parser's tie-breaker). */
export async function localPathExists(path: string): Promise<boolean> {
  return (await kindOf(path)) !== undefined;
}

/** Whether `dir` looks like an OCI layout (has an oci-layout file). */
export async function isOciLayout(dir: string): Promise<boolean> {
  try {
    await readFile(join(dir, 'oci-layout'));
    return true;
  } catch {
    return false;
  }
}
