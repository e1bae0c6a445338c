// Owns `strata diff`: what changed between two images, two lockfiles, or an image and a
// lockfile, and why (docs/verify.md):
//   packages  added, removed, upgraded/downgraded (old → new), rebuilt; with the source package
//   layers    shared, changed, added, removed; the bytes a client holding A pulls to get B
//   files     added, removed, changed — and for a changed file, which attributes differ
//   config    env, entrypoint, user, labels, history; manifest annotations
// Each difference is attributed to a cause class and, where one explains it, to the lockfile
// entry (a package change owning the file), the build option or the tool version.
import type { Lockfile } from '../debian/lockfile.js';
import { platformOf } from '../image/oci.js';
import { platformString, type ImageLayer, type OpenedImage, type PlatformImage } from '../image/image-reader.js';
import { classifyConfig, classifyIndex, classifyManifest, jsonDifferences, layerName } from './compare-images.js';
import { compareLayerScans, entryFieldDifferences, layerDifferences, type FieldDifference } from './compare-layer.js';
import { countByCause, shortDigest, type Cause, type Difference } from './difference.js';
import { readFileTree, type FileTree, type ScanCache, type TreeFile } from './file-tree.js';
import type { EntryRecord } from './layer-scan.js';
import { describeChange, diffPackages, ownersOfDatabase, packagesOfDatabase, packagesOfLock, type PackageChange, type PackageRecord } from './packages.js';

export type DiffSide = { kind: 'image'; image: OpenedImage } | { kind: 'lockfile'; lock: Lockfile; label: string; digest: string };

export interface LayerInfo {
  index: number;
  name: string;
  diffId: string;
  digest?: string;
  size?: number;
}

export interface FileChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  /** The entry type (of B, or of A when removed). */
  type: string;
  /** For changed files: each attribute that differs. */
  fields?: FieldDifference[];
  cause: Cause;
  /** The package owning the path (in B, else in A), when dpkg's database says. */
  package?: string;
  attribution?: string;
}

export interface PlatformDiff {
  platform: string;
  packages: PackageChange[];
  layers?: {
    shared: LayerInfo[];
    /** Pairs holding the same packages (or the same generated content) in both. */
    changed: Array<{ a: LayerInfo; b: LayerInfo }>;
    added: LayerInfo[];
    removed: LayerInfo[];
    /** What a client holding A downloads to get B: B's blobs (layers, config, manifest) that A lacks. */
    pull: { bytes: number; blobs: number; note?: string };
  };
  files?: { added: FileChange[]; removed: FileChange[]; changed: FileChange[] };
}

export interface ImageDiff {
  a: { label: string; digest: string; kind: DiffSide['kind'] };
  b: { label: string; digest: string; kind: DiffSide['kind'] };
  identical: boolean;
  platforms: PlatformDiff[];
  /** Every difference, explained, most actionable cause first within each platform. */
  differences: Difference[];
  summary: Partial<Record<Cause, number>>;
}

const byteOrder = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));

function layerInfo(p: PlatformImage, l: ImageLayer): LayerInfo {
  const info: LayerInfo = { index: l.index, name: layerName(p, l), diffId: l.diffId };
  if (l.digest !== undefined) info.digest = l.digest;
  if (l.size !== undefined) info.size = l.size;
  return info;
}

/** A layer's identity across versions: its package names, or its history without digits. */
function layerKey(p: PlatformImage, l: ImageLayer): string {
  return layerName(p, l).replace(/^layer \d+ /, '').replace(/[0-9.:~+-]+/g, '#');
}

function diffLayers(pa: PlatformImage, pb: PlatformImage): NonNullable<PlatformDiff['layers']> {
  // Blobs are compared by digest; when a side stores tars (docker-archive), by DiffID.
  const byDiffId = [...pa.layers, ...pb.layers].some((l) => l.digest === undefined);
  const id = (l: ImageLayer) => (byDiffId ? l.diffId : (l.digest ?? l.diffId));
  const inA = new Set(pa.layers.map(id));
  const inB = new Set(pb.layers.map(id));
  const shared = pb.layers.filter((l) => inA.has(id(l))).map((l) => layerInfo(pb, l));
  const onlyB = pb.layers.filter((l) => !inA.has(id(l)));
  const onlyA = pa.layers.filter((l) => !inB.has(id(l)));
  const changed: Array<{ a: LayerInfo; b: LayerInfo }> = [];
  const usedA = new Set<number>();
  const added: LayerInfo[] = [];
  for (const lb of onlyB) {
    const match = onlyA.find((la) => !usedA.has(la.index) && layerKey(pa, la) === layerKey(pb, lb));
    if (match !== undefined) {
      usedA.add(match.index);
      changed.push({ a: layerInfo(pa, match), b: layerInfo(pb, lb) });
    } else added.push(layerInfo(pb, lb));
  }
  // Layers that pack several packages: pair by the packages they have in common.
  const names = (l: ImageLayer) => new Set((l.annotations?.['dev.strata.layer.packages'] ?? '').split(',').filter((x) => x !== '').map((x) => x.split('=')[0]!));
  for (let k = added.length - 1; k >= 0; k--) {
    const lb = pb.layers[added[k]!.index]!;
    const nb = names(lb);
    let best: ImageLayer | undefined;
    let bestOverlap = 0;
    for (const la of onlyA) {
      if (usedA.has(la.index)) continue;
      const overlap = [...names(la)].filter((n) => nb.has(n)).length;
      if (overlap > bestOverlap) [best, bestOverlap] = [la, overlap];
    }
    if (best !== undefined) {
      usedA.add(best.index);
      changed.push({ a: layerInfo(pa, best), b: added[k]! });
      added.splice(k, 1);
    }
  }
  changed.sort((x, y) => x.b.index - y.b.index);
  const removed = onlyA.filter((l) => !usedA.has(l.index)).map((l) => layerInfo(pa, l));
  // Pulling B while holding A: B's layer blobs A lacks (once each), its config and manifest when new.
  const needed = new Map<string, number>();
  for (const l of onlyB) needed.set(id(l), l.size ?? 0);
  let note: string | undefined;
  if (pb.manifest !== undefined && pb.manifest.digest !== pa.manifest?.digest) needed.set(pb.manifest.digest, pb.manifest.bytes.length);
  if (pb.config.digest !== pa.config.digest) needed.set(pb.config.digest, pb.config.bytes.length);
  if (onlyB.some((l) => l.size === undefined)) note = 'B is a docker-archive: its layers have no compressed size, so their bytes are not counted';
  const pull: NonNullable<PlatformDiff['layers']>['pull'] = { bytes: [...needed.values()].reduce((n, s) => n + s, 0), blobs: needed.size };
  if (note !== undefined) pull.note = note;
  return { shared, changed, added, removed, pull };
}

function fieldCause(fields: FieldDifference[]): Cause {
  // The most telling field decides: content over ownership over timestamps over metadata.
  for (const c of ['content', 'ownership', 'metadata', 'timestamp'] as const) if (fields.some((f) => f.cause === c)) return c;
  return fields[0]?.cause ?? 'metadata';
}

function toRecord(f: TreeFile): EntryRecord {
  return { ...f, header: Buffer.alloc(0) };
}

function epochOf(p: PlatformImage): number | undefined {
  const t = Date.parse(p.config.value.created ?? '');
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

function diffFiles(ta: FileTree, tb: FileTree, changes: PackageChange[], pa: PlatformImage, pb: PlatformImage): NonNullable<PlatformDiff['files']> {
  const [epochA, epochB] = [epochOf(pa), epochOf(pb)];
  const ownersA = ownersOfDatabase(ta.database);
  const ownersB = ownersOfDatabase(tb.database);
  const changedPkgs = new Map(changes.map((c) => [c.name, c]));
  // Packages of a layer (strata's annotation), for files no md5sums list (directories, links).
  const layerPackages = (p: PlatformImage, index: number): string[] => {
    const a = p.layers[index]?.annotations?.['dev.strata.layer.packages'];
    return a === undefined ? [] : a.split(',').map((x) => x.split('=')[0]!);
  };
  const generated = (p: PlatformImage, index: number): boolean => /strata: (effects|base layout)/.test((p.config.value.history ?? []).filter((h) => h.empty_layer !== true)[index]?.created_by ?? '');
  const explain = (path: string, fa: TreeFile | undefined, fb: TreeFile | undefined, fallback: Cause): Pick<FileChange, 'cause' | 'package' | 'attribution'> => {
    // Generated entries carry the build's epoch: when both sides carry their image's own
    // (the config's created), the epoch is what moved.
    if (fa !== undefined && fb !== undefined && epochA !== epochB && fa.mtime === epochA && fb.mtime === epochB && fallback === 'timestamp') {
      return { cause: 'timestamp', attribution: 'the build epoch (the spec\'s epoch:, else SOURCE_DATE_EPOCH, else the lockfile\'s epoch): the images were built with different ones' };
    }
    if (fa?.type === 'directory' && fb?.type === 'directory') {
      // Directories are shared by many packages; the layer that writes them last decides.
      const na = layerName(pa, pa.layers[fa.layer]!);
      const nb = layerName(pb, pb.layers[fb.layer]!);
      const moved = na.replace(/^layer \d+ /, '') !== nb.replace(/^layer \d+ /, '');
      return { cause: fallback, ...(moved ? { attribution: `the directory now comes from ${nb} (was ${na})` } : {}) };
    }
    const owner = ownersB.get(path) ?? ownersA.get(path);
    // No database entry (directories, links, files a filtered md5sums left out): the packages
    // of the layer that holds the path — on both sides for a changed path, on its side for
    // an added or removed one — and, among them, one named by a path component
    // (usr/share/doc/<package>) when there is one.
    const inB = fb ? layerPackages(pb, fb.layer) : [];
    const inA = fa ? layerPackages(pa, fa.layer) : [];
    let candidates = owner !== undefined ? [owner] : fa && fb ? inB.filter((n) => inA.includes(n)) : [...inB, ...inA];
    const named = candidates.filter((c) => path.split('/').includes(c));
    if (named.length > 0) candidates = named;
    const changes = candidates.map((c) => changedPkgs.get(c)).filter((c): c is PackageChange => c !== undefined);
    const change = changes.length === 1 ? changes[0] : undefined;
    const out: Pick<FileChange, 'cause' | 'package' | 'attribution'> = { cause: changes.length > 0 ? 'package' : fallback };
    if (owner !== undefined) out.package = owner;
    else if (candidates.length === 1) out.package = candidates[0]!;
    if (change !== undefined) out.attribution = `lockfile: ${describeChange(change)}`;
    else if (changes.length > 1) out.attribution = `lockfile: one of ${changes.map(describeChange).join('; ')}`;
    else if ((fb !== undefined && generated(pb, fb.layer)) || (fa !== undefined && generated(pa, fa.layer))) out.attribution = 'generated by strata (base layout or effects layer: accounts, nsswitch, CA bundle, time zone, alternatives, the spec\'s paths)';
    return out;
  };
  const added: FileChange[] = [];
  const removed: FileChange[] = [];
  const changed: FileChange[] = [];
  const paths = [...new Set([...ta.files.keys(), ...tb.files.keys()])].sort(byteOrder);
  for (const path of paths) {
    const fa = ta.files.get(path);
    const fb = tb.files.get(path);
    if (fa === undefined) added.push({ path, kind: 'added', type: fb!.type, ...explain(path, fa, fb, 'content') });
    else if (fb === undefined) removed.push({ path, kind: 'removed', type: fa.type, ...explain(path, fa, fb, 'content') });
    else {
      const fields = entryFieldDifferences(toRecord(fa), toRecord(fb));
      if (fields.length > 0) changed.push({ path, kind: 'changed', type: fb.type, fields, ...explain(path, fa, fb, fieldCause(fields)) });
    }
  }
  return { added, removed, changed };
}

/** Up to `limit` file differences spelled out; package-explained ones summarised per package. */
function fileDifferences(files: NonNullable<PlatformDiff['files']>, platform: string | undefined, limit: number): Difference[] {
  const out: Difference[] = [];
  const pl = platform !== undefined ? { platform } : {};
  const perPackage = new Map<string, { attribution: string; count: number; first: string }>();
  const rest: FileChange[] = [];
  for (const f of [...files.changed, ...files.added, ...files.removed]) {
    if (f.cause === 'package' && f.attribution !== undefined) {
      const s = perPackage.get(f.attribution);
      if (s === undefined) perPackage.set(f.attribution, { attribution: f.attribution, count: 1, first: f.path });
      else s.count++;
    } else rest.push(f);
  }
  for (const s of perPackage.values()) out.push({ level: 'file', ...pl, where: s.first, cause: 'package', explanation: `${s.count} file${s.count === 1 ? '' : 's'} added, removed or changed by a package change (the first: ${s.first})`, attribution: s.attribution });
  rest.sort((x, y) => byteOrder(x.path, y.path));
  for (const f of rest.slice(0, limit)) {
    const d: Difference = { level: 'file', ...pl, where: f.path, cause: f.cause, explanation: '' };
    if (f.kind === 'changed') {
      const main = f.fields!.find((x) => x.cause === f.cause) ?? f.fields![0]!;
      d.field = f.fields!.map((x) => x.field).join(', ');
      d.a = main.a;
      d.b = main.b;
      d.explanation = `${f.type} changed: ${f.fields!.map((x) => `${x.field} ${x.a} → ${x.b}`).join('; ')}`;
    } else {
      d.field = 'entry';
      d.a = f.kind === 'added' ? 'absent' : f.type;
      d.b = f.kind === 'added' ? f.type : 'absent';
      d.explanation = `${f.type} ${f.kind === 'added' ? 'only in the second image' : 'only in the first image'}${f.package ? ` (package ${f.package})` : ''}`;
    }
    if (f.attribution !== undefined) d.attribution = f.attribution;
    out.push(d);
  }
  if (rest.length > limit) {
    const left = countByCause(rest.slice(limit).map((f) => ({ level: 'file', where: f.path, cause: f.cause, explanation: '' })));
    out.push({ level: 'file', ...pl, where: `${rest.length - limit} more paths`, cause: rest[limit]!.cause, explanation: `and ${rest.length - limit} more file differences (${Object.entries(left).map(([c, n]) => `${n} ${c}`).join(', ')}); --json lists them all` });
  }
  return out;
}

function packageDifferences(changes: PackageChange[], platform: string | undefined): Difference[] {
  return changes.map((c) => ({
    level: 'package' as const,
    ...(platform !== undefined ? { platform } : {}),
    where: c.name,
    field: c.kind,
    a: c.from ?? 'absent',
    b: c.to ?? 'absent',
    cause: 'package' as const,
    explanation: `${describeChange(c)} (source ${c.source}${c.sourceFrom ? `, was ${c.sourceFrom}` : ''})`,
    attribution: `lockfile: ${c.name}`,
  }));
}

function platformsOfLock(lock: Lockfile): Map<string, string> {
  return new Map(Object.keys(lock.architectures).sort().map((arch) => [platformString(platformOf(arch)), arch]));
}

export interface DiffOptions {
  /** File differences spelled out per platform before summarising (default 200). */
  fileLimit?: number;
}

function lockDifferences(a: Lockfile, b: Lockfile): Difference[] {
  const out: Difference[] = [];
  if (a.epoch !== b.epoch) out.push({ level: 'package', where: 'lockfile', field: 'epoch', a: String(a.epoch), b: String(b.epoch), cause: 'timestamp', explanation: 'the lock\'s epoch (the newest InRelease date) moved: images built without a spec epoch: or SOURCE_DATE_EPOCH date their generated files and config by it', attribution: 'lockfile: epoch' });
  const suites = new Set([...a.suites.map((s) => s.suite), ...b.suites.map((s) => s.suite)]);
  for (const s of [...suites].sort()) {
    const x = a.suites.find((y) => y.suite === s);
    const y = b.suites.find((z) => z.suite === s);
    if (x?.inRelease.sha256 !== y?.inRelease.sha256) out.push({ level: 'package', where: `suite ${s}`, field: 'InRelease', a: x ? `${x.date} (${x.inRelease.sha256.slice(0, 12)})` : 'absent', b: y ? `${y.date} (${y.inRelease.sha256.slice(0, 12)})` : 'absent', cause: 'input', explanation: `the archive's signed index of ${s} is another one: the locks were resolved at different times`, attribution: `lockfile: suites[${s}]` });
  }
  if (JSON.stringify(a.inputs) !== JSON.stringify(b.inputs)) out.push({ level: 'package', where: 'lockfile', field: 'inputs', a: JSON.stringify(a.inputs.packages), b: JSON.stringify(b.inputs.packages), cause: 'input', explanation: 'the resolution inputs differ (packages, exclude, recommends, profile, architectures or source)', attribution: 'the spec' });
  return out;
}

export async function diffImages(a: DiffSide, b: DiffSide, opts: DiffOptions = {}): Promise<ImageDiff> {
  const limit = opts.fileLimit ?? 200;
  const labelOf = (s: DiffSide) => (s.kind === 'image' ? { label: s.image.label, digest: s.image.digest, kind: s.kind } : { label: s.label, digest: s.digest, kind: s.kind });
  const result: ImageDiff = { a: labelOf(a), b: labelOf(b), identical: false, platforms: [], differences: [], summary: {} };
  const scans: ScanCache = new Map();

  // Platforms on each side: an image's, or a lock's architectures.
  const sidePlatforms = (s: DiffSide): string[] => (s.kind === 'image' ? s.image.platforms.map((p) => p.platform) : [...platformsOfLock(s.lock).keys()]);
  const all = [...new Set([...sidePlatforms(a), ...sidePlatforms(b)])];
  const multi = all.length > 1;
  if (a.kind === 'lockfile' && b.kind === 'lockfile') result.differences.push(...lockDifferences(a.lock, b.lock));
  if (a.kind === 'image' && b.kind === 'image' && a.image.index !== undefined && b.image.index !== undefined) {
    result.differences.push(...jsonDifferences('index', a.image.index, b.image.index, classifyIndex, undefined));
  }
  for (const platform of all) {
    const pl = multi ? platform : undefined;
    const pi = (s: DiffSide) => (s.kind === 'image' ? s.image.platforms.find((p) => p.platform === platform) : undefined);
    const pa = pi(a);
    const pb = pi(b);
    const present = (s: DiffSide) => (s.kind === 'image' ? pi(s) !== undefined : platformsOfLock(s.lock).has(platform));
    if (!present(a) || !present(b)) {
      result.differences.push({ level: 'index', platform, where: 'platforms', field: platform, a: present(a) ? 'present' : 'absent', b: present(b) ? 'present' : 'absent', cause: 'input', explanation: `platform ${platform} is only in the ${present(a) ? 'first' : 'second'}` });
      continue;
    }
    const trees = new Map<DiffSide, FileTree>();
    const packagesOf = async (s: DiffSide, p: PlatformImage | undefined): Promise<PackageRecord[]> => {
      if (s.kind === 'lockfile') return packagesOfLock(s.lock, platformsOfLock(s.lock).get(platform)!);
      const tree = await readFileTree(p!, s.image.label, scans);
      trees.set(s, tree);
      return packagesOfDatabase(tree.database);
    };
    const changes = diffPackages(await packagesOf(a, pa), await packagesOf(b, pb));
    const pd: PlatformDiff = { platform, packages: changes };
    const diffs: Difference[] = packageDifferences(changes, pl);
    if (pa !== undefined && pb !== undefined) {
      pd.layers = diffLayers(pa, pb);
      const ta = trees.get(a)!;
      const tb = trees.get(b)!;
      pd.files = diffFiles(ta, tb, changes, pa, pb);
      // Integrity: stored bytes that do not match their names.
      for (const [p, t, side] of [[pa, ta, 'first'], [pb, tb, 'second']] as const) {
        for (const l of p.layers) {
          const info = t.layers[l.index];
          const claimed = l.digest ?? l.diffId;
          const actual = l.digest !== undefined ? info?.storedDigest : info?.diffId;
          if (info?.error !== undefined) diffs.push({ level: 'layer', ...(pl ? { platform: pl } : {}), where: layerName(p, l), field: 'decompression', cause: 'integrity', explanation: `the ${side} image's layer cannot be read to the end: ${info.error}` });
          else if (actual !== undefined && actual !== claimed) diffs.push({ level: 'blob', ...(pl ? { platform: pl } : {}), where: layerName(p, l), field: 'digest', a: `named ${shortDigest(claimed)}`, b: `bytes are ${shortDigest(actual)}`, cause: 'integrity', explanation: `the ${side} image's layer does not match the digest that names it (tampering or corruption)` });
        }
      }
      // Changed layers, stream against stream: a tar that is the same but compressed otherwise
      // (the compressor, or its header), and what the merged file system cannot show —
      // entries in another order, header encodings, padding.
      for (const { a: la, b: lb } of pd.layers.changed) {
        const sa = await scans.get(la.digest ?? la.diffId);
        const sb = await scans.get(lb.digest ?? lb.diffId);
        if (sa === undefined || sb === undefined) continue;
        const found = layerDifferences(compareLayerScans(sa, sb), { where: lb.name, ...(pl ? { platform: pl } : {}) });
        if (la.diffId === lb.diffId) diffs.push(...found);
        else diffs.push(...found.filter((x) => x.cause === 'ordering' || x.field?.startsWith('tar header encoding') || x.field === 'tar padding'));
      }
      // Layer descriptors shift when the plan changes: the layers section says it, not the manifest.
      const manifestOnly = (c: Parameters<typeof classifyManifest>[0]) => (c.path.startsWith('layers[') ? undefined : classifyManifest(c));
      if (pa.manifest !== undefined && pb.manifest !== undefined) diffs.push(...jsonDifferences('manifest', pa.manifest, pb.manifest, manifestOnly, pl));
      diffs.push(...jsonDifferences('config', pa.config, pb.config, classifyConfig, pl));
      diffs.push(...fileDifferences(pd.files, pl, limit));
    }
    result.platforms.push(pd);
    result.differences.push(...diffs);
  }
  result.summary = countByCause(result.differences);
  const unchanged = (p: PlatformDiff) =>
    p.packages.length === 0 &&
    (p.files === undefined || p.files.added.length + p.files.removed.length + p.files.changed.length === 0) &&
    (p.layers === undefined || p.layers.changed.length + p.layers.added.length + p.layers.removed.length === 0);
  result.identical = result.differences.length === 0 && result.platforms.every(unchanged);
  return result;
}
