// Owns `strata verify`: proving that a lockfile rebuilds to the same bytes under changed
// conditions, or that a given image is what the lockfile builds (docs/verify.md).
//
//   fetch the .debs once (verified) → a control build and an experiment build that varies
//   every chosen perturbation at once, each in its own process and its own cold cache seeded
//   with the .debs, concurrently where the cores allow → a warm-cache rebuild on the
//   control's cache → compare each with the control at every level → when the experiment
//   differs, rebuild with each perturbation alone to find which one causes it.
//
// With --against, a given image (layout, archive; a registry later) is compared with the
// control rebuild: the "anyone can rebuild this digest" proof.
import { availableParallelism } from 'node:os';
import { link, mkdir, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, relative, isAbsolute } from 'node:path';
import { StrataError } from '../errors.js';
import { STRATA_VERSION } from '../version.js';
import type { CacheDir } from '../cache/cache-dir.js';
import type { NetworkOptions } from '../debian/download.js';
import { lockfileDigest, type Lockfile } from '../debian/lockfile.js';
import type { LoadedSpec } from '../spec/spec.js';
import { fetchDebs, lockedPackages } from '../build/fetch-debs.js';
import { configureSources } from '../build/sources.js';
import { openImage } from '../image/open-image.js';
import type { RemoteOptions } from '../image/remote/index.js';
import { openLocalImage } from '../image/layout-reader.js';
import type { OpenedImage } from '../image/image-reader.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { compareImages, type ImageComparison } from './compare-images.js';
import type { Difference } from './difference.js';
import { mountShuffled, type Mount } from './disorderfs.js';
import { DESCRIPTIONS, perturbed, type BuildSetting, type Perturbation } from './perturbations.js';
import { onPath, rebuild, type RebuildResult } from './rebuild.js';

export type VerifyProgress =
  | { phase: 'fetch'; done: number; total: number; name: string }
  | { phase: 'rebuild'; name: string; state: 'started' | 'done' }
  | { phase: 'compare'; name: string };

export interface VerifyOptions {
  loaded: LoadedSpec;
  lock: Lockfile;
  lockfilePath: string;
  /** The user's cache: the .debs come from (and are fetched into) it; rebuilds never write to it. */
  cache: CacheDir;
  vary: Perturbation[];
  /** An image reference to check against the control rebuild. */
  against?: string;
  /** How to reach a registry named by `against`. */
  registry?: RemoteOptions;
  architectures?: string[];
  /** Keep the rebuilds' work directory (for inspection). */
  keep?: boolean;
  net?: NetworkOptions;
  /** The environment rebuilds start from (default: this process's). */
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: VerifyProgress) => void;
}

export interface RebuildReport {
  name: string;
  /** The perturbations this build applies relative to the control. */
  vary: Perturbation[];
  setting: BuildSetting;
  digest?: string;
  durationMs?: number;
  clock?: RebuildResult['clock'];
  shuffle?: 'disorderfs and readdir' | 'readdir';
  /** Compared with the control: identical at every level. */
  identical?: boolean;
  comparison?: ImageComparison;
  error?: { code: string; message: string };
}

export interface VerifyReport {
  spec: string;
  lockfile: string;
  lockDigest: string;
  strata: string;
  vary: Perturbation[];
  reproducible: boolean;
  /** The control build's digest: what the lockfile builds. */
  digest: string;
  control: RebuildReport;
  rebuilds: RebuildReport[];
  against?: { ref: string; label: string; digest: string; identical: boolean; comparison: ImageComparison };
  /** When the experiment differed: the perturbations that alone reproduce a difference. */
  culprits?: Perturbation[];
  /** Differences to act on, attributed (from the experiment, the warm rebuild or --against). */
  differences: Difference[];
  notes: string[];
  /** With keep: where the rebuilt layouts and caches are. */
  workDir?: string;
  durationMs: number;
}

async function seedCache(dir: string, cache: CacheDir, hexes: string[]): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  for (const hex of hexes) {
    try {
      await link(cache.blobPath(hex), join(blobs, hex));
    } catch {
      await symlink(cache.blobPath(hex), join(blobs, hex));
    }
  }
}

/** Whether the spec names paths outside its own directory (which a mount of it would break). */
function specEscapesItsDir(loaded: LoadedSpec): boolean {
  const s = loaded.spec.source;
  const rel = [s.keyring, s.mirror, ...s.fallbacks.map((f) => f.url)].filter((p): p is string => p !== undefined && !isAbsolute(p) && !/^[a-z]+:/.test(p));
  return rel.some((p) => p.startsWith('..'));
}

async function stillMounted(path: string): Promise<boolean> {
  try {
    return (await stat(path)).dev !== (await stat(dirname(path))).dev;
  } catch {
    return false;
  }
}

function trimComparison(c: ImageComparison): ImageComparison {
  return {
    ...c,
    layers: c.layers.map((l) => ({
      ...l,
      comparison: { ...l.comparison, changed: l.comparison.changed.slice(0, 100), added: l.comparison.added.slice(0, 100), removed: l.comparison.removed.slice(0, 100) },
    })),
  };
}

const sameSpot = (x: Difference, y: Difference) => x.level === y.level && x.where === y.where && x.field === y.field && x.platform === y.platform;

export async function verify(opts: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const { loaded, lock, cache } = opts;
  const env = opts.env ?? process.env;
  const notes: string[] = [];

  // 1. Every .deb in the user's cache, verified; rebuilds then never touch the network.
  const sources = await configureSources(loaded);
  const packages = lockedPackages(lock, opts.architectures);
  await fetchDebs(packages, sources, {
    cache,
    ...(opts.net ? { net: opts.net } : {}),
    onProgress: (p) => opts.onProgress?.({ phase: 'fetch', done: p.done, total: p.total, name: p.name }),
  });
  const hexes = [...new Set(packages.map((p) => p.sha256))];

  const work = cache.tempPath('verify');
  await mkdir(work, { recursive: true });
  const mounts: Mount[] = [];
  const opened: OpenedImage[] = [];
  try {
    const dirs = {
      control: { home: join(work, 'control', 'home'), cwd: join(work, 'control', 'cwd') },
      experiment: { home: join(work, 'experiment dir', 'a home', 'h'), cwd: join(work, 'elsewhere', 'deeper', 'build path') },
    };
    for (const d of Object.values(dirs)) for (const p of Object.values(d)) await mkdir(p, { recursive: true });

    const faketime = onPath('faketime', env);
    const wantsTime = opts.vary.includes('time');
    if (wantsTime) notes.push(faketime !== undefined ? 'clock: faketime +3650d' : 'clock: faketime is not installed; strata\'s clock override (STRATA_CLOCK_OFFSET) moved the clock instead');

    // The spec's directory under disorderfs, for builds that shuffle.
    let shuffledSpec: { specPath: string; lockfilePath: string } | undefined;
    if (opts.vary.includes('shuffle')) {
      const specDir = dirname(loaded.path);
      if (specEscapesItsDir(loaded)) {
        notes.push('shuffle: the spec names paths outside its directory, so it is not mounted under disorderfs; strata\'s readdir shuffle applies');
      } else {
        const m = await mountShuffled(specDir, join(work, 'shuffled-spec'));
        if ('unavailable' in m) notes.push(`shuffle: ${m.unavailable}; strata's readdir shuffle applies`);
        else {
          mounts.push(m);
          const lockRel = relative(specDir, opts.lockfilePath);
          shuffledSpec = { specPath: join(m.path, basename(loaded.path)), lockfilePath: lockRel.startsWith('..') || isAbsolute(lockRel) ? opts.lockfilePath : join(m.path, lockRel) };
          notes.push('shuffle: the spec\'s directory under disorderfs --shuffle-dirents, and strata\'s readdir shuffle');
        }
      }
    }

    let counter = 0;
    const run = async (name: string, vary: Perturbation[], cacheDir?: string): Promise<{ report: RebuildReport; image?: OpenedImage }> => {
      const setting = perturbed(vary);
      const report: RebuildReport = { name, vary, setting };
      const id = `${++counter}-${name.replace(/[^a-z0-9]+/gi, '-')}`;
      const ownCache = cacheDir ?? join(work, `cache-${id}`);
      if (cacheDir === undefined) await seedCache(ownCache, cache, hexes);
      const d = setting.home === 'experiment' ? dirs.experiment : dirs.control;
      const spec = setting.shuffle && shuffledSpec !== undefined ? shuffledSpec : { specPath: loaded.path, lockfilePath: opts.lockfilePath };
      if (setting.shuffle) report.shuffle = shuffledSpec !== undefined ? 'disorderfs and readdir' : 'readdir';
      opts.onProgress?.({ phase: 'rebuild', name, state: 'started' });
      try {
        const r = await rebuild({
          name,
          setting,
          ...spec,
          ...(opts.architectures !== undefined ? { architectures: opts.architectures } : {}),
          cacheDir: ownCache,
          output: join(work, `out-${id}.oci`),
          home: d.home,
          cwd: setting.cwd === 'experiment' ? dirs.experiment.cwd : dirs.control.cwd,
          baseEnv: env,
          ...(faketime !== undefined ? { faketime } : {}),
          shuffleSeed: 0x5eed + counter,
        });
        report.digest = r.digest;
        report.durationMs = r.durationMs;
        if (setting.clockOffset > 0) report.clock = r.clock;
        opts.onProgress?.({ phase: 'rebuild', name, state: 'done' });
        const image = await openLocalImage({ path: r.output });
        if (image === undefined) throw new StrataError('REBUILD_FAILED', `the ${name} rebuild wrote no image at ${r.output}`);
        opened.push(image);
        return { report, image };
      } catch (e) {
        if (!(e instanceof StrataError)) throw e;
        report.error = { code: e.code, message: e.message };
        opts.onProgress?.({ phase: 'rebuild', name, state: 'done' });
        return { report };
      }
    };

    const cores = availableParallelism();
    const varied = opts.vary.filter((p) => p !== 'cache');
    const controlCache = join(work, 'cache-control');
    const controlRun = (async () => {
      await seedCache(controlCache, cache, hexes);
      return run('control', [], controlCache);
    })();
    // The experiment runs beside the control when there is a second core; else after it.
    const experimentRun = varied.length === 0 ? undefined : cores >= 2 ? run('experiment', varied) : controlRun.then(() => run('experiment', varied));
    const control = await controlRun;
    if (control.image === undefined) {
      await experimentRun;
      const err = control.report.error!;
      throw new StrataError(err.code as StrataError['code'], err.message, { hint: 'the control build must succeed before anything can be compared: fix this first (strata build SPEC shows the same error)' });
    }
    const warmRun = opts.vary.includes('cache') ? run('warm cache', ['cache'], controlCache) : undefined;
    const rebuilds = (await Promise.all([experimentRun, warmRun])).filter((r): r is NonNullable<typeof r> => r !== undefined);

    const compareWith = async (r: { report: RebuildReport; image?: OpenedImage }) => {
      if (r.image === undefined) {
        r.report.identical = false;
        return;
      }
      opts.onProgress?.({ phase: 'compare', name: r.report.name });
      const cmp = await compareImages(control.image!, r.image, { sameWriter: true });
      // The layouts live in a work directory that is removed: name the builds instead.
      cmp.a.label = 'control';
      cmp.b.label = r.report.name;
      r.report.identical = cmp.identical;
      r.report.comparison = cmp;
    };
    for (const r of rebuilds) await compareWith(r);

    // 2. The experiment differs: which perturbation, alone, reproduces a difference?
    let culprits: Perturbation[] | undefined;
    const experiment = rebuilds.find((r) => r.report.name === 'experiment');
    const singles: Array<{ report: RebuildReport; image?: OpenedImage }> = [];
    if (experiment !== undefined && experiment.report.identical === false && varied.length > 1) {
      const alone = await mapConcurrent(varied, Math.max(1, Math.min(4, cores)), (p) => run(`only ${p}`, [p]));
      for (const r of alone) {
        await compareWith(r);
        singles.push(r);
      }
      culprits = varied.filter((_, i) => alone[i]!.report.identical === false);
    } else if (experiment !== undefined && experiment.report.identical === false) {
      culprits = [...varied];
    }

    // 3. --against: the given image versus the control rebuild.
    let against: VerifyReport['against'];
    if (opts.against !== undefined) {
      const given = await openImage(opts.against, opts.registry !== undefined ? { registry: opts.registry } : {});
      opened.push(given);
      opts.onProgress?.({ phase: 'compare', name: given.label });
      const cmp = await compareImages(control.image, given);
      cmp.a.label = 'rebuild (control)';
      against = { ref: opts.against, label: given.label, digest: given.digest, identical: cmp.identical, comparison: cmp };
    }

    // Attribute the differences.
    const differences: Difference[] = [];
    for (const r of rebuilds) {
      for (const d of r.report.comparison?.differences ?? []) {
        const x = { ...d };
        if (r.report.name === 'warm cache') x.attribution = 'perturbation: cache (a warm cache gives other bytes than a cold one)';
        else if (culprits !== undefined) {
          const exact = singles.filter((s) => s.report.comparison?.differences.some((y) => sameSpot(d, y))).map((s) => s.report.vary[0]!);
          const who = exact.length > 0 ? exact : culprits;
          x.attribution = who.length > 0 ? `perturbation: ${who.map((p) => `${p} (${DESCRIPTIONS[p]})`).join('; ')}` : 'an interaction of perturbations: no single one reproduces it';
        }
        differences.push(x);
      }
      if (r.report.error !== undefined) {
        differences.push({ level: 'build', where: r.report.name, cause: 'input', explanation: `the ${r.report.name} rebuild failed where the control succeeded: ${r.report.error.message}`, attribution: `perturbation: ${r.report.vary.join(', ')}` });
      }
    }
    for (const d of against?.comparison.differences ?? []) differences.push({ ...d });

    const all = [...rebuilds, ...singles];
    const reproducible = rebuilds.every((r) => r.report.identical === true) && (against === undefined || against.identical);
    const report: VerifyReport = {
      spec: loaded.path,
      lockfile: opts.lockfilePath,
      lockDigest: `sha256:${lockfileDigest(lock)}`,
      strata: STRATA_VERSION,
      vary: opts.vary,
      reproducible,
      digest: control.report.digest!,
      control: control.report,
      rebuilds: all.map((r) => (r.report.comparison ? { ...r.report, comparison: trimComparison(r.report.comparison) } : r.report)),
      differences,
      notes,
      durationMs: 0,
    };
    if (against !== undefined) report.against = { ...against, comparison: trimComparison(against.comparison) };
    if (culprits !== undefined) report.culprits = culprits;
    if (opts.keep) report.workDir = work;
    report.durationMs = Math.round(performance.now() - started);
    return report;
  } finally {
    for (const image of opened) await image.close().catch(() => undefined);
    for (const m of mounts) await m.unmount();
    const busy = (await Promise.all(mounts.map((m) => stillMounted(m.path)))).some(Boolean);
    if (busy) notes.push(`the disorderfs mount under ${work} is still busy; remove that directory once it is unmounted (fusermount3 -u)`);
    else if (!opts.keep) await rm(work, { recursive: true, force: true });
  }
}

