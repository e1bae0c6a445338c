// Owns reading an image from an OCI image layout directory (`strata build`'s default output,
// `skopeo copy … oci:DIR:TAG`): the manifest a tag names (or the only one), through an index
// to this machine's platform, its config and its layers with their DiffIDs. The manifest and
// config are checked against their digests; layers are checked by whoever unpacks them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { sha256Hex } from '../digest/sha256.js';
import { ANNOTATION, MEDIA, platformOf, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from './oci.js';

export interface LayoutLayer {
  digest: string;
  mediaType: string;
  compression: 'gzip' | 'zstd' | 'none';
  diffId: string;
  /** The blob's path on disk. */
  path: string;
}

export interface LayoutImage {
  dir: string;
  tag: string | undefined;
  manifestDigest: string;
  config: ImageConfig;
  layers: LayoutLayer[];
}

const invalid = (dir: string, why: string) => new StrataError('IMAGE_INVALID', `${dir}: ${why}`, { hint: 'give an OCI image layout directory, such as `strata build` writes (DIR or DIR:TAG)' });

function compressionOf(mediaType: string): LayoutLayer['compression'] | undefined {
  if (mediaType === MEDIA.layerGzip || mediaType === MEDIA.dockerLayerGzip) return 'gzip';
  if (mediaType === MEDIA.layerZstd) return 'zstd';
  if (mediaType === MEDIA.layerTar || mediaType === 'application/vnd.docker.image.rootfs.diff.tar') return 'none';
  return undefined;
}

async function readBlob(dir: string, d: Descriptor): Promise<Buffer> {
  const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest);
  if (m === null) throw invalid(dir, `unsupported digest ${d.digest}`);
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, 'blobs', 'sha256', m[1]!));
  } catch {
    throw invalid(dir, `blob ${d.digest} is missing`);
  }
  if (sha256Hex(bytes) !== m[1]) throw invalid(dir, `blob ${d.digest} does not match its digest`);
  return bytes;
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

/** Reads the image `tag` (or the only one) of the layout `dir` for `architecture`. */
export async function readOciLayout(dir: string, tag: string | undefined, architecture: string): Promise<LayoutImage> {
  let index: ImageIndex;
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  } catch (e) {
    throw invalid(dir, `no readable index.json (${(e as Error).message})`);
  }
  const tagged = index.manifests ?? [];
  const named = (d: Descriptor) => d.annotations?.[ANNOTATION.refName];
  let chosen: Descriptor | undefined;
  if (tag !== undefined) chosen = tagged.find((d) => named(d) === tag);
  else if (tagged.length === 1) chosen = tagged[0];
  if (chosen === undefined) {
    const tags = tagged.map(named).filter((t) => t !== undefined);
    throw invalid(dir, tag === undefined ? `holds ${tagged.length} images; name one as DIR:TAG (tags: ${tags.join(', ') || 'none'})` : `has no tag ${tag} (tags: ${tags.join(', ') || 'none'})`);
  }
  const want = platformOf(architecture);
  if (chosen.mediaType === MEDIA.index || chosen.mediaType === MEDIA.dockerManifestList) {
    const inner = JSON.parse((await readBlob(dir, chosen)).toString('utf8')) as ImageIndex;
    const match = inner.manifests.find((m) => m.platform?.os === want.os && m.platform.architecture === want.architecture && (want.variant === undefined || m.platform.variant === undefined || m.platform.variant === want.variant));
    if (match === undefined) {
      throw invalid(dir, `has no image for this machine (${want.os}/${want.architecture}); it has ${inner.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(', ')}`);
    }
    chosen = match;
  }
  const manifest = JSON.parse((await readBlob(dir, chosen)).toString('utf8')) as ImageManifest;
  const config = JSON.parse((await readBlob(dir, manifest.config)).toString('utf8')) as ImageConfig;
  if (config.architecture !== want.architecture) throw invalid(dir, `the image is for ${config.os}/${config.architecture}, and this machine is ${want.os}/${want.architecture}`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) throw invalid(dir, `the config lists ${diffIds.length} DiffIDs for ${manifest.layers.length} layers`);
  const layers = manifest.layers.map((l, i): LayoutLayer => {
    const compression = compressionOf(l.mediaType);
    if (compression === undefined) throw invalid(dir, `layer ${l.digest} has the media type ${l.mediaType}, which strata cannot unpack`);
    const m = /^sha256:([0-9a-f]{64})$/.exec(l.digest);
    if (m === null || !/^sha256:[0-9a-f]{64}$/.test(diffIds[i]!)) throw invalid(dir, `layer ${l.digest} has an unsupported digest`);
    return { digest: l.digest, mediaType: l.mediaType, compression, diffId: diffIds[i]!, path: join(dir, 'blobs', 'sha256', m[1]!) };
  });
  return { dir, tag, manifestDigest: chosen.digest, config, layers };
}
