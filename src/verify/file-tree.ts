// Owns the file system an image unpacks to, as records: its layers applied in order (a later
// entry replaces an earlier one; OCI whiteouts `.wh.NAME` and `.wh..wh..opq` remove), each
// path with its header fields, content digest and the layer it came from, plus the text of
// dpkg's database files (for the package view and file owners). Layers with the same digest
// are scanned once (a diff of two images that share most layers reads each shared one once).
import type { ImageLayer, PlatformImage } from '../image/image-reader.js';
import { scanLayer, type EntryRecord, type LayerScan } from './layer-scan.js';
import { isPackageDatabase } from './packages.js';

export interface TreeFile extends Omit<EntryRecord, 'header' | 'data'> {
  /** The layer index the path's final state comes from. */
  layer: number;
}

export interface FileTree {
  files: Map<string, TreeFile>;
  /** dpkg database files: path → text. */
  database: Map<string, string>;
  /** Per layer: the scan's stored digest and DiffID, and any read error. */
  layers: Array<{ index: number; storedDigest?: string; diffId?: string; error?: string }>;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

function removeTree(files: Map<string, unknown>, dir: string, keepDir: boolean): void {
  const prefix = dir === '' ? '' : `${dir}/`;
  for (const p of [...files.keys()]) if (p.startsWith(prefix) && p !== dir) files.delete(p);
  if (!keepDir) files.delete(dir);
}

export type ScanCache = Map<string, Promise<LayerScan>>;

function scanOnce(layer: ImageLayer, what: string, cache: ScanCache): Promise<LayerScan> {
  const key = layer.digest ?? layer.diffId;
  let p = cache.get(key);
  if (p === undefined) {
    p = scanLayer(layer, what, isPackageDatabase);
    cache.set(key, p);
  }
  return p;
}

export async function readFileTree(p: PlatformImage, label: string, cache: ScanCache = new Map()): Promise<FileTree> {
  const files = new Map<string, TreeFile>();
  const database = new Map<string, string>();
  const layers: FileTree['layers'] = [];
  for (const layer of p.layers) {
    const scan = await scanOnce(layer, `${label}: layer ${layer.index}`, cache);
    const info: FileTree['layers'][number] = { index: layer.index };
    if (scan.storedDigest !== undefined) info.storedDigest = scan.storedDigest;
    if (scan.diffId !== undefined) info.diffId = scan.diffId;
    if (scan.error !== undefined) info.error = scan.error;
    layers.push(info);
    for (const e of scan.entries) {
      const slash = e.path.lastIndexOf('/');
      const dir = slash < 0 ? '' : e.path.slice(0, slash);
      const base = e.path.slice(slash + 1);
      if (base === OPAQUE) {
        removeTree(files, dir, true);
        removeTree(database, dir, true);
        continue;
      }
      if (base.startsWith(WHITEOUT)) {
        const target = `${dir === '' ? '' : `${dir}/`}${base.slice(WHITEOUT.length)}`;
        removeTree(files, target, false);
        removeTree(database, target, false);
        continue;
      }
      const { header: _h, data, ...rest } = e;
      // A directory over a directory keeps what is under it; anything else replaces the subtree.
      if (files.get(e.path)?.type === 'directory' && e.type !== 'directory') removeTree(files, e.path, false);
      files.set(e.path, { ...rest, layer: layer.index });
      if (data !== undefined) database.set(e.path, data.toString('utf8'));
      else database.delete(e.path);
    }
  }
  return { files, database, layers };
}
