// Owns comparing two images level by level, the way `strata verify` proves reproducibility:
// the index, each platform's manifest and config, each layer's DiffID and each stored blob.
// Every digest is of the bytes actually read (a blob that does not match its name is an
// integrity difference, never trusted); a level that differs is explained — JSON documents
// field by field, layers entry by entry (compare-layer.ts).
import type { ImageConfig } from '../image/oci.js';
import { ANNOTATION } from '../image/oci.js';
import type { ImageLayer, JsonDocument, OpenedImage, PlatformImage } from '../image/image-reader.js';
import { compareJson, showJson, type JsonChange, type JsonValue } from './compare-json.js';
import { compareLayerScans, layerDifferences, type LayerComparison } from './compare-layer.js';
import { shortDigest, type Cause, type Difference } from './difference.js';
import { hashStored, scanLayer } from './layer-scan.js';

export type LevelName = 'index' | 'manifest' | 'config' | 'diffid' | 'blob';

export interface LevelRow {
  level: LevelName;
  platform?: string;
  /** "manifest", "config", "layer 2 (libfix6)". */
  name: string;
  a?: string;
  b?: string;
  /** null: not comparable (absent on a side, or stored in another form). */
  same: boolean | null;
  note?: string;
}

export interface ImageComparison {
  a: { label: string; digest: string };
  b: { label: string; digest: string };
  identical: boolean;
  levels: LevelRow[];
  differences: Difference[];
  /** The layer pairs that were compared entry by entry. */
  layers: Array<{ platform: string; index: number; name: string; comparison: LayerComparison }>;
}

/** Names a layer for people: its packages (strata's annotation) or its history line. */
export function layerName(p: PlatformImage, layer: ImageLayer): string {
  const packages = layer.annotations?.[ANNOTATION.packages];
  if (packages !== undefined) return `layer ${layer.index} (${packages.split(',').map((x) => x.split('=')[0]).join(', ')})`;
  const history = (p.config.value.history ?? []).filter((h) => h.empty_layer !== true)[layer.index];
  const by = history?.created_by?.replace(/^strata: /, '').replace(/\s*\(.*$/, '').trim();
  return by ? `layer ${layer.index} (${by.length > 40 ? `${by.slice(0, 39)}…` : by})` : `layer ${layer.index}`;
}

const SPEC_FIELD: Record<string, string> = {
  'config.User': 'the spec\'s accounts.run-as',
  'config.Entrypoint': 'the spec\'s entrypoint',
  'config.Cmd': 'the spec\'s cmd',
  'config.WorkingDir': 'the spec\'s workdir',
  'config.Env': 'the spec\'s env',
  'config.Labels': 'the spec\'s annotations',
};

export function classifyConfig(c: JsonChange): { cause: Cause; attribution?: string } | undefined {
  const p = c.path;
  if (p.startsWith('rootfs.diff_ids')) return undefined; // the layer rows say it
  if (p === 'created' || /^history\[\d+\]\.created$/.test(p)) return { cause: 'timestamp', attribution: 'the build epoch (the spec\'s epoch:, else SOURCE_DATE_EPOCH, else the lockfile\'s epoch)' };
  if (/^history\[\d+\]\.created_by$/.test(p)) return /[0-9]/.test(showJson(c.a) + showJson(c.b)) ? { cause: 'package', attribution: 'the packages (and versions) of the layer' } : { cause: 'metadata' };
  if (p === 'architecture' || p === 'os' || p === 'variant') return { cause: 'input', attribution: 'the platform built' };
  for (const [prefix, field] of Object.entries(SPEC_FIELD)) if (p === prefix || p.startsWith(`${prefix}.`) || p.startsWith(`${prefix}[`)) return { cause: 'metadata', attribution: field };
  return { cause: 'metadata' };
}

export function classifyManifest(c: JsonChange): { cause: Cause; attribution?: string } | undefined {
  const p = c.path;
  if (/^layers\[\d+\]\.(digest|size)$/.test(p) || p.startsWith('config.')) return undefined; // the blob and config rows say it
  if (p === `annotations.${ANNOTATION.version}`) return { cause: 'tool', attribution: `strata's version: ${showJson(c.a)} → ${showJson(c.b)}` };
  if (p === `annotations.${ANNOTATION.compressor}`) return { cause: 'tool', attribution: 'the pinned compressor\'s identity' };
  if (p === `annotations.${ANNOTATION.lockDigest}`) return { cause: 'input', attribution: 'the lockfile: the images were built from different lockfiles' };
  if (p === `annotations.${ANNOTATION.created}`) return { cause: 'timestamp', attribution: 'the build epoch (the spec\'s epoch:, else SOURCE_DATE_EPOCH, else the lockfile\'s epoch)' };
  if (/^layers\[\d+\]\.annotations\./.test(p) && p.endsWith(ANNOTATION.packages)) return { cause: 'package', attribution: 'the packages (and versions) of the layer' };
  if (/^layers\[\d+\]\.mediaType$/.test(p)) return { cause: 'compressor' };
  if (p.startsWith('annotations.')) return { cause: 'metadata', attribution: 'the spec\'s annotations' };
  return { cause: 'metadata' };
}

export function classifyIndex(c: JsonChange): { cause: Cause; attribution?: string } | undefined {
  if (/^manifests\[\d+\]\.(digest|size)$/.test(c.path)) return undefined;
  return { cause: 'metadata' };
}

/** Env as a map, so that a change names the variable rather than an array position. */
function normaliseConfig(v: JsonValue): JsonValue {
  const c = v as unknown as ImageConfig;
  if (Array.isArray(c?.config?.Env)) {
    const env: Record<string, string> = {};
    for (const kv of c.config.Env) {
      const i = kv.indexOf('=');
      env[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1);
    }
    return { ...(v as Record<string, JsonValue>), config: { ...(c.config as unknown as Record<string, JsonValue>), Env: env } };
  }
  return v;
}

export function jsonDifferences(
  level: 'index' | 'manifest' | 'config',
  a: JsonDocument<unknown>,
  b: JsonDocument<unknown>,
  classify: (c: JsonChange) => { cause: Cause; attribution?: string } | undefined,
  platform: string | undefined,
): Difference[] {
  const base = { level, where: level, ...(platform !== undefined ? { platform } : {}) };
  const cmp = compareJson(a.bytes, b.bytes);
  if (cmp.kind === 'identical') return [];
  if (cmp.kind === 'key-order') {
    return [{ ...base, field: `key order of ${cmp.path}`, a: cmp.a.join(', '), b: cmp.b.join(', '), cause: 'ordering', explanation: `the same values, but the keys of ${cmp.path} come in another order: the ${level} was not written by a canonical JSON writer (sorted keys)` }];
  }
  if (cmp.kind === 'formatting') {
    return [{ ...base, field: 'serialisation', cause: 'metadata', explanation: `the same values and key order, written differently from byte ${cmp.offset} (whitespace, escapes or number spelling)` }];
  }
  const norm = level === 'config' ? compareJson(Buffer.from(JSON.stringify(normaliseConfig(JSON.parse(a.bytes.toString('utf8'))))), Buffer.from(JSON.stringify(normaliseConfig(JSON.parse(b.bytes.toString('utf8')))))) : cmp;
  const changes = norm.kind === 'values' ? norm.changes : cmp.changes;
  const out: Difference[] = [];
  for (const c of changes) {
    const cls = classify(c);
    if (cls === undefined) continue;
    const d: Difference = { ...base, field: c.path, a: showJson(c.a), b: showJson(c.b), cause: cls.cause, explanation: `${level} field ${c.path} ${c.kind === 'added' ? 'is only in the second image' : c.kind === 'removed' ? 'is only in the first image' : 'differs'}` };
    if (cls.attribution !== undefined) d.attribution = cls.attribution;
    out.push(d);
  }
  return out;
}

function integrity(level: 'index' | 'manifest' | 'config' | 'blob', where: string, side: 'a' | 'b', claimed: string, actual: string, platform?: string): Difference {
  return {
    level,
    where,
    ...(platform !== undefined ? { platform } : {}),
    field: 'digest',
    a: `named ${shortDigest(claimed)}`,
    b: `bytes are ${shortDigest(actual)}`,
    cause: 'integrity',
    explanation: `the ${side === 'a' ? 'first' : 'second'} image's ${where} does not match the digest that names it: the stored bytes were changed (tampering or corruption)`,
  };
}

export interface CompareOptions {
  /** Explain differing layers entry by entry (default true). */
  explain?: boolean;
  /**
   * Both images were written by strata (verify's rebuilds): their layouts' index.json must be
   * the same bytes too. Otherwise only the descriptor it points to is compared (another tool's
   * index.json carries its own annotations).
   */
  sameWriter?: boolean;
}

async function comparePlatform(pa: PlatformImage, pb: PlatformImage, multi: boolean, result: ImageComparison, opts: CompareOptions): Promise<void> {
  const platform = multi ? pa.platform : undefined;
  const pl = platform !== undefined ? { platform } : {};
  const { levels, differences } = result;
  // Manifest.
  if (pa.manifest !== undefined && pb.manifest !== undefined) {
    levels.push({ level: 'manifest', ...pl, name: 'manifest', a: pa.manifest.actualDigest, b: pb.manifest.actualDigest, same: pa.manifest.actualDigest === pb.manifest.actualDigest });
    differences.push(...jsonDifferences('manifest', pa.manifest, pb.manifest, (c) => classifyManifest(c), platform));
  } else {
    levels.push({ level: 'manifest', ...pl, name: 'manifest', ...(pa.manifest ? { a: pa.manifest.actualDigest } : {}), ...(pb.manifest ? { b: pb.manifest.actualDigest } : {}), same: null, note: 'a docker-archive stores no manifest' });
  }
  for (const [side, p] of [['a', pa], ['b', pb]] as const) {
    if (p.manifest !== undefined && p.manifest.actualDigest !== p.manifest.digest) differences.push(integrity('manifest', 'manifest', side, p.manifest.digest, p.manifest.actualDigest, platform));
    if (p.config.actualDigest !== p.config.digest) differences.push(integrity('config', 'config', side, p.config.digest, p.config.actualDigest, platform));
  }
  // Config.
  levels.push({ level: 'config', ...pl, name: 'config', a: pa.config.actualDigest, b: pb.config.actualDigest, same: pa.config.actualDigest === pb.config.actualDigest });
  differences.push(...jsonDifferences('config', pa.config as JsonDocument<unknown>, pb.config as JsonDocument<unknown>, classifyConfig, platform));
  // Layers.
  const n = Math.max(pa.layers.length, pb.layers.length);
  for (let i = 0; i < n; i++) {
    const la = pa.layers[i];
    const lb = pb.layers[i];
    if (la === undefined || lb === undefined) {
      const l = (la ?? lb)!;
      const name = layerName(la ? pa : pb, l);
      levels.push({ level: 'diffid', ...pl, name, ...(la ? { a: la.diffId } : { b: lb!.diffId }), same: false });
      differences.push({ level: 'layer', ...pl, where: name, field: 'layer', a: la ? 'present' : 'absent', b: lb ? 'present' : 'absent', cause: 'content', explanation: `${name} is only in the ${la ? 'first' : 'second'} image (the images have ${pa.layers.length} and ${pb.layers.length} layers)` });
      continue;
    }
    const name = layerName(pa, la);
    const [sa, sb] = [await hashStored(la), await hashStored(lb)];
    // What the stored bytes claim to be: a blob digest for OCI stores, a DiffID for docker-archives.
    const claimA = la.digest ?? la.diffId;
    const claimB = lb.digest ?? lb.diffId;
    const badA = sa.digest !== claimA;
    const badB = sb.digest !== claimB;
    if (badA) differences.push(integrity('blob', name, 'a', claimA, sa.digest, platform));
    if (badB) differences.push(integrity('blob', name, 'b', claimB, sb.digest, platform));
    const comparable = (la.digest === undefined) === (lb.digest === undefined);
    const blobSame = comparable ? sa.digest === sb.digest : null;
    const diffRow: LevelRow = { level: 'diffid', ...pl, name, a: la.diffId, b: lb.diffId, same: la.diffId === lb.diffId };
    levels.push(diffRow);
    levels.push({ level: 'blob', ...pl, name, a: sa.digest, b: sb.digest, same: blobSame, ...(comparable ? {} : { note: 'stored in another form (compressed blob vs docker-archive tar)' }) });
    const needScan = opts.explain !== false && (badA || badB || la.diffId !== lb.diffId || blobSame === false || (blobSame === null && (la.digest !== undefined || lb.digest !== undefined)));
    if (!needScan) continue;
    const [xa, xb] = [await scanLayer(la, `${result.a.label}: ${name}`), await scanLayer(lb, `${result.b.label}: ${name}`)];
    const cmp = compareLayerScans(xa, xb);
    // The DiffIDs the bytes really have decide the row (a config can claim anything).
    if (xa.diffId !== undefined) diffRow.a = xa.diffId;
    if (xb.diffId !== undefined) diffRow.b = xb.diffId;
    diffRow.same = xa.diffId !== undefined && xa.diffId === xb.diffId && la.diffId === lb.diffId;
    if (xa.diffId !== la.diffId || xb.diffId !== lb.diffId) diffRow.note = 'the DiffID of the bytes read differs from the one the config records';
    result.layers.push({ platform: pa.platform, index: i, name, comparison: cmp });
    if (blobSame === null && cmp.sameDiffId && diffRow.same) continue;
    differences.push(...layerDifferences(cmp, { where: name, ...pl }));
  }
}

export async function compareImages(a: OpenedImage, b: OpenedImage, opts: CompareOptions = {}): Promise<ImageComparison> {
  const result: ImageComparison = { a: { label: a.label, digest: a.digest }, b: { label: b.label, digest: b.digest }, identical: false, levels: [], differences: [], layers: [] };
  const multi = a.platforms.length > 1 || b.platforms.length > 1;
  // The layout's index.json: the descriptor of the image it names (and, for two layouts strata
  // wrote, every byte of it).
  if (a.root !== undefined && b.root !== undefined) {
    const rootSame = a.root.digest === b.root.digest && a.root.size === b.root.size && a.root.mediaType === b.root.mediaType;
    const row: LevelRow = { level: 'index', name: 'index.json', a: a.root.digest, b: b.root.digest, same: rootSame };
    if (opts.sameWriter && a.layoutIndex !== undefined && b.layoutIndex !== undefined) {
      row.same = rootSame && a.layoutIndex.equals(b.layoutIndex);
      if (rootSame && !a.layoutIndex.equals(b.layoutIndex)) {
        row.note = 'the same image, but index.json is written differently';
        result.differences.push(...jsonDifferences('index', { digest: 'index.json', actualDigest: '', bytes: a.layoutIndex, value: {} }, { digest: 'index.json', actualDigest: '', bytes: b.layoutIndex, value: {} }, () => ({ cause: 'metadata' }), undefined).map((d) => ({ ...d, where: 'index.json' })));
      }
    } else row.note = 'the descriptor index.json points to';
    result.levels.push(row);
  } else {
    result.levels.push({ level: 'index', name: 'index.json', ...(a.root ? { a: a.root.digest } : {}), ...(b.root ? { b: b.root.digest } : {}), same: null, note: 'a docker-archive has no index.json' });
  }
  if (a.index !== undefined || b.index !== undefined) {
    const same = a.index !== undefined && b.index !== undefined ? a.index.actualDigest === b.index.actualDigest : null;
    result.levels.push({ level: 'index', name: 'image index', ...(a.index ? { a: a.index.actualDigest } : {}), ...(b.index ? { b: b.index.actualDigest } : {}), same });
    if (a.index !== undefined && b.index !== undefined) result.differences.push(...jsonDifferences('index', a.index, b.index, classifyIndex, undefined));
    for (const [side, img] of [['a', a], ['b', b]] as const) {
      if (img.index !== undefined && img.index.actualDigest !== img.index.digest) result.differences.push(integrity('index', 'index', side, img.index.digest, img.index.actualDigest));
    }
  }
  const platforms = [...new Set([...a.platforms.map((p) => p.platform), ...b.platforms.map((p) => p.platform)])];
  for (const platform of platforms) {
    const pa = a.platforms.find((p) => p.platform === platform);
    const pb = b.platforms.find((p) => p.platform === platform);
    if (pa === undefined || pb === undefined) {
      result.differences.push({ level: 'index', platform, where: 'platforms', field: platform, a: pa ? 'present' : 'absent', b: pb ? 'present' : 'absent', cause: 'input', explanation: `platform ${platform} is only in the ${pa ? 'first' : 'second'} image` });
      result.levels.push({ level: 'manifest', platform, name: 'manifest', same: false, note: `platform ${platform} is only in one image` });
      continue;
    }
    await comparePlatform(pa, pb, multi, result, opts);
  }
  result.identical = result.differences.length === 0 && result.levels.every((l) => l.same !== false);
  return result;
}
