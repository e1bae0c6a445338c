// Owns strata's own image validator: the oracle every test applies to the images strata
// writes (beside oci-image-tool, which predates image-spec 1.1). It checks an OCI image layout
// as a reader would trust it — every blob present, its digest and size as referenced, media
// types known, configs consistent with their manifests, every layer's uncompressed sha256
// equal to its DiffID — and, with `canonical`, what strata promises on top: canonical JSON,
// and layers whose entries are sorted by path bytes, unique, parents first, with no device
// nodes, empty uname/gname and mtimes no later than the config's `created`.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { canonicalJson } from '../digest/canonical-json.js';
import { decompress, type Compression } from '../archive/decompress.js';
import { readTar } from '../archive/tar-reader.js';
import { comparePathBytes, parentDirs } from '../util/path-order.js';
import { MEDIA, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from './oci.js';

export interface ValidateOptions {
  /** Also check strata's canonical forms (JSON and tar). */
  canonical?: boolean;
}

export interface ValidationReport {
  manifests: number;
  layers: number;
  problems: string[];
}

const LAYER_TYPES: Record<string, Compression> = {
  [MEDIA.layerGzip]: 'gzip',
  [MEDIA.layerZstd]: 'zstd',
  [MEDIA.layerTar]: 'none',
  [MEDIA.dockerLayerGzip]: 'gzip',
};

export async function validateLayout(dir: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const problems: string[] = [];
  const report: ValidationReport = { manifests: 0, layers: 0, problems };
  const blobPath = (d: string) => join(dir, 'blobs', 'sha256', d.replace(/^sha256:/, ''));
  const checkedLayers = new Set<string>();

  const readBlob = async (d: Descriptor, what: string): Promise<Buffer | undefined> => {
    if (!/^sha256:[0-9a-f]{64}$/.test(d.digest)) {
      problems.push(`${what}: unsupported digest ${d.digest}`);
      return undefined;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(blobPath(d.digest));
    } catch {
      problems.push(`${what}: blob ${d.digest} is missing`);
      return undefined;
    }
    if (bytes.length !== d.size) problems.push(`${what}: blob ${d.digest} has ${bytes.length} bytes, the descriptor says ${d.size}`);
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== d.digest) problems.push(`${what}: blob ${d.digest} hashes to ${actual}`);
    return bytes;
  };

  const json = <T>(bytes: Buffer, what: string): T | undefined => {
    let v: T;
    try {
      v = JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      problems.push(`${what}: not JSON`);
      return undefined;
    }
    if (opts.canonical && bytes.toString('utf8') !== canonicalJson(v)) problems.push(`${what}: not canonical JSON`);
    return v;
  };

  const checkLayer = async (layer: Descriptor, diffId: string, created: number, what: string) => {
    report.layers++;
    if (checkedLayers.has(layer.digest)) return;
    checkedLayers.add(layer.digest);
    const compression = LAYER_TYPES[layer.mediaType];
    if (compression === undefined) {
      problems.push(`${what}: unknown layer media type ${layer.mediaType}`);
      return;
    }
    let size: number;
    try {
      size = (await stat(blobPath(layer.digest))).size;
    } catch {
      problems.push(`${what}: layer blob ${layer.digest} is missing`);
      return;
    }
    if (size !== layer.size) problems.push(`${what}: layer ${layer.digest} has ${size} bytes, the descriptor says ${layer.size}`);
    const blobHash = createHash('sha256');
    const tarHash = createHash('sha256');
    const raw = (async function* () {
      for await (const c of createReadStream(blobPath(layer.digest), { highWaterMark: 1 << 20 })) {
        blobHash.update(c as Buffer);
        yield c as Buffer;
      }
    })();
    const tarBytes = (async function* () {
      for await (const c of decompress(raw, compression, `${what} ${layer.digest}`)) {
        tarHash.update(c);
        yield c;
      }
    })();
    const seen = new Set<string>();
    let previous: string | undefined;
    try {
      for await (const { entry } of readTar(tarBytes, `${what} ${layer.digest}`)) {
        if (!opts.canonical) continue;
        const p = entry.path.replace(/\/$/, '');
        if (seen.has(p)) problems.push(`${what}: ${p} appears twice`);
        if (previous !== undefined && comparePathBytes(previous, p) > 0) problems.push(`${what}: ${p} comes after ${previous} (not sorted by path bytes)`);
        for (const parent of parentDirs(p)) if (!seen.has(parent)) problems.push(`${what}: ${p} comes before its parent ${parent}`);
        if (['char', 'block', 'fifo', 'other'].includes(entry.type)) problems.push(`${what}: ${p} is a ${entry.type}`);
        if ((entry.uname ?? '') !== '' || (entry.gname ?? '') !== '') problems.push(`${what}: ${p} names its owner (${entry.uname}/${entry.gname})`);
        if (entry.mtime > created) problems.push(`${what}: ${p} has an mtime after the image's created time`);
        seen.add(p);
        previous = p;
      }
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
      return;
    }
    const digest = `sha256:${blobHash.digest('hex')}`;
    if (digest !== layer.digest) problems.push(`${what}: layer blob hashes to ${digest}, not ${layer.digest}`);
    const tar = `sha256:${tarHash.digest('hex')}`;
    if (tar !== diffId) problems.push(`${what}: layer ${layer.digest} uncompresses to ${tar}, the config's DiffID is ${diffId}`);
  };

  const checkManifest = async (d: Descriptor, what: string) => {
    report.manifests++;
    const bytes = await readBlob(d, what);
    if (bytes === undefined) return;
    const m = json<ImageManifest>(bytes, what);
    if (m === undefined) return;
    if (m.schemaVersion !== 2) problems.push(`${what}: schemaVersion is ${m.schemaVersion}`);
    if (m.mediaType !== undefined && m.mediaType !== d.mediaType) problems.push(`${what}: mediaType ${m.mediaType} differs from its descriptor's ${d.mediaType}`);
    const configBytes = await readBlob(m.config, `${what} config`);
    if (m.artifactType !== undefined) return; // an artifact (SBOM, provenance): its "layers" are documents
    if (configBytes === undefined) return;
    if (m.config.mediaType !== MEDIA.config && m.config.mediaType !== MEDIA.dockerConfig) problems.push(`${what}: config media type ${m.config.mediaType}`);
    const config = json<ImageConfig>(configBytes, `${what} config`);
    if (config === undefined) return;
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== m.layers.length) problems.push(`${what}: ${m.layers.length} layers but ${diffIds.length} DiffIDs in the config`);
    if (config.history !== undefined && config.history.filter((h) => h.empty_layer !== true).length !== m.layers.length) {
      problems.push(`${what}: the config's history does not match the layers`);
    }
    const created = Date.parse(config.created) / 1000;
    for (const [i, layer] of m.layers.entries()) await checkLayer(layer, diffIds[i] ?? '', Number.isFinite(created) ? created : Infinity, `${what} layer ${i}`);
  };

  const checkIndex = async (index: ImageIndex, what: string) => {
    if (index.schemaVersion !== 2) problems.push(`${what}: schemaVersion is ${index.schemaVersion}`);
    for (const [i, d] of (index.manifests ?? []).entries()) {
      const w = `${what} manifests[${i}]`;
      if (d.mediaType === MEDIA.index || d.mediaType === MEDIA.dockerManifestList) {
        const bytes = await readBlob(d, w);
        const nested = bytes === undefined ? undefined : json<ImageIndex>(bytes, w);
        if (nested !== undefined) await checkIndex(nested, w);
      } else if (d.mediaType === MEDIA.manifest || d.mediaType === MEDIA.dockerManifest) {
        await checkManifest(d, w);
      } else {
        problems.push(`${w}: unknown media type ${d.mediaType}`);
      }
    }
  };

  let layout: string;
  try {
    layout = await readFile(join(dir, 'oci-layout'), 'utf8');
  } catch {
    throw new StrataError('IMAGE_INVALID', `${dir}: no oci-layout file; not an OCI image layout`);
  }
  try {
    if ((JSON.parse(layout) as { imageLayoutVersion?: string }).imageLayoutVersion !== '1.0.0') problems.push('oci-layout: imageLayoutVersion is not 1.0.0');
  } catch {
    problems.push('oci-layout: not JSON');
  }
  const indexBytes = await readFile(join(dir, 'index.json')).catch(() => undefined);
  if (indexBytes === undefined) {
    problems.push('index.json is missing');
    return report;
  }
  const index = json<ImageIndex>(indexBytes, 'index.json');
  if (index !== undefined) await checkIndex(index, 'index.json');
  if (opts.canonical) {
    const extra = (await readdir(dir)).filter((n) => !['oci-layout', 'index.json', 'blobs'].includes(n));
    if (extra.length > 0) problems.push(`the layout holds files outside the spec: ${extra.join(', ')}`);
  }
  return report;
}
