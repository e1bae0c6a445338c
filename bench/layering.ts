// Benchmark: layer sharing across a family of images, and the bytes an update re-pulls, for
// four layering strategies built into one store (docs/layering.md):
//   single      — one layer per image (the baseline of the store-size target)
//   per-package — one layer per package in name order, the rest in one layer at the budget
//   nix         — Nix's popularity layering (buildLayeredImage): most referenced first, one
//                 layer each, the rest in one layer at the budget
//   strata      — src/layering/plan.ts
// Two sets of images: the family (twelve runtimes and tools) and the fleet (the family plus
// sixteen applications built on those runtimes); both come from one run, the family being the
// fleet's first twelve images.
// The "old" family is locked against the release suite only. The update re-locks each image
// with the updates and security suites added and `--update LIBRARY` for one widely used
// library (libssl3, else libc6: the first whose version there differs), keeping every other
// package at its locked version — the security update a client holding the old images pulls.
//
//   npm run build && node dist/bench/layering.js [--budget N] [--cache-dir DIR]
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CacheDir } from '../src/cache/cache-dir.js';
import { lock } from '../src/build/lock.js';
import { buildImage } from '../src/build/build.js';
import { loadSpec } from '../src/spec/load-spec.js';
import { planLayers } from '../src/layering/plan.js';
import { buildGraph } from '../src/layering/graph.js';
import type { Lockfile } from '../src/debian/lockfile.js';
import type { LoadedSpec } from '../src/spec/spec.js';

export const FAMILY: Array<{ name: string; packages: string[] }> = [
  { name: 'python', packages: ['python3', 'python3-requests'] },
  { name: 'redis', packages: ['redis-server'] },
  { name: 'nginx', packages: ['nginx'] },
  { name: 'git', packages: ['git', 'openssh-client', 'ca-certificates'] },
  { name: 'postgresql', packages: ['postgresql-15'] },
  { name: 'nodejs', packages: ['nodejs'] },
  { name: 'ruby', packages: ['ruby'] },
  { name: 'perl', packages: ['perl'] },
  { name: 'curl', packages: ['curl', 'ca-certificates'] },
  { name: 'openjdk', packages: ['openjdk-17-jre-headless'] },
  { name: 'shell', packages: ['bash', 'coreutils'] },
  { name: 'busybox', packages: ['busybox'] },
];

/**
 * Applications on those runtimes, as an organisation's fleet has them: the family above plus
 * these is measured too, and the family's own figures are the first twelve images of that run.
 */
export const FLEET_APPS: Array<{ name: string; packages: string[] }> = [
  { name: 'flask', packages: ['python3-flask'] },
  { name: 'numpy', packages: ['python3-numpy'] },
  { name: 'django', packages: ['python3-django'] },
  { name: 'ansible', packages: ['ansible-core'] },
  { name: 'express', packages: ['nodejs', 'node-express'] },
  { name: 'typescript', packages: ['nodejs', 'node-typescript'] },
  { name: 'sinatra', packages: ['ruby-sinatra'] },
  { name: 'mojolicious', packages: ['libmojolicious-perl'] },
  { name: 'tomcat', packages: ['tomcat10'] },
  { name: 'jetty', packages: ['jetty9'] },
  { name: 'maven', packages: ['maven'] },
  { name: 'plpython', packages: ['postgresql-plpython3-15'] },
  { name: 'pg-cron', packages: ['postgresql-15-cron'] },
  { name: 'psql', packages: ['postgresql-client-15'] },
  { name: 'git-lfs', packages: ['git', 'git-lfs'] },
  { name: 'sentinel', packages: ['redis-sentinel'] },
];

const IMAGES = [...FAMILY, ...FLEET_APPS];

type Planner = NonNullable<Parameters<typeof buildImage>[2]['planner']>;

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const STRATEGIES: Record<string, Planner> = {
  single: (pkgs) => [pkgs.map((p) => p.name).sort(byName)],
  'per-package': (pkgs, budget) => {
    const names = pkgs.map((p) => p.name).sort(byName);
    const room = budget - 2;
    return names.length <= room ? names.map((n) => [n]) : [...names.slice(0, room - 1).map((n) => [n]), names.slice(room - 1)];
  },
  nix: (pkgs, budget) => {
    // popularity_contest: how many closures of the graph contain the package.
    const graph = buildGraph(pkgs);
    const count = new Map<string, number>();
    for (const node of graph.values()) for (const m of node.members) count.set(m, node.popularity + 1);
    const names = pkgs.map((p) => p.name).sort((a, b) => count.get(b)! - count.get(a)! || byName(a, b));
    const room = budget - 2;
    return names.length <= room ? names.map((n) => [n]) : [...names.slice(0, room - 1).map((n) => [n]), names.slice(room - 1).sort(byName)];
  },
  strata: (pkgs, budget) => planLayers(pkgs, budget).layers.map((l) => l.packages),
};

interface Blob {
  digest: string;
  size: number;
}

interface ImageBlobs {
  layers: Blob[];
  config: Blob;
  manifest: Blob;
  packageLayers: Map<string, Blob>;
}

async function familyLocks(
  dir: string,
  cache: CacheDir,
  suites: string[] | undefined,
  budget: number,
  previous?: Array<{ lock: Lockfile }>,
  update?: string[],
): Promise<Array<{ name: string; loaded: LoadedSpec; lock: Lockfile }>> {
  const out = [];
  for (const [i, img] of IMAGES.entries()) {
    const path = join(dir, `${img.name}.yaml`);
    const source = suites === undefined ? '' : `source:\n  suites: [${suites.join(', ')}]\n`;
    await writeFile(path, `${source}packages: [${img.packages.join(', ')}]\nlayers: {budget: ${budget}}\n`);
    const loaded = await loadSpec(path);
    const opts: Parameters<typeof lock>[1] = { cache };
    if (previous !== undefined) opts.previous = previous[i]!.lock;
    if (update !== undefined) opts.update = update;
    const result = await lock(loaded, opts);
    out.push({ name: img.name, loaded, lock: result.lock });
  }
  return out;
}

async function buildFamily(family: Array<{ name: string; loaded: LoadedSpec; lock: Lockfile }>, cache: CacheDir, planner: Planner): Promise<ImageBlobs[]> {
  const out: ImageBlobs[] = [];
  for (const img of family) {
    const r = await buildImage(img.loaded, img.lock, { cache, planner });
    const p = r.platforms[0]!;
    const pi = r.image.platforms[0]!;
    const configSize = pi.manifest.config.size;
    const manifestBytes = r.image.blobs.get(p.manifestDigest)!;
    const packageLayers = new Map<string, Blob>();
    for (const l of p.layers) if (l.kind === 'packages' && l.packages.length === 1) packageLayers.set(`${l.packages[0]}=${img.lock.architectures.amd64!.packages.find((x) => x.name === l.packages[0])!.version}`, { digest: l.digest, size: l.size });
    out.push({
      layers: p.layers.map((l) => ({ digest: l.digest, size: l.size })),
      config: { digest: p.configDigest, size: configSize },
      manifest: { digest: p.manifestDigest, size: manifestBytes.kind === 'bytes' ? manifestBytes.bytes.length : 0 },
      packageLayers,
    });
  }
  return out;
}

function uniqueSize(blobs: Blob[]): number {
  const seen = new Map<string, number>();
  for (const b of blobs) seen.set(b.digest, b.size);
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

const allBlobs = (images: ImageBlobs[]) => images.flatMap((i) => [...i.layers, i.config, i.manifest]);
const mb = (n: number) => (n / 1e6).toFixed(1);
const mb3 = (n: number) => (n / 1e6).toFixed(3);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { budget: { type: 'string' }, 'cache-dir': { type: 'string' }, 'tight-budget': { type: 'string' } } });
  const budgets = [Number(values.budget ?? 100), Number(values['tight-budget'] ?? 16)];
  const cache = await CacheDir.open(values['cache-dir'] ?? join(tmpdir(), 'strata-bench-cache'));
  const work = await mkdtemp(join(tmpdir(), 'strata-bench-layering-'));
  const started = Date.now();
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: availableParallelism(),
    family: FAMILY,
    fleetApps: FLEET_APPS,
    budgets: {},
  };
  for (const budget of budgets) {
    await mkdir(join(work, `old-${budget}`), { recursive: true });
    await mkdir(join(work, `new-${budget}`), { recursive: true });
    const oldFamily = await familyLocks(join(work, `old-${budget}`), cache, ['bookworm'], budget);
    let library = '';
    let newFamily: Awaited<ReturnType<typeof familyLocks>> = [];
    for (const candidate of ['libssl3', 'libc6']) {
      newFamily = await familyLocks(join(work, `new-${budget}`), cache, undefined, budget, oldFamily, [candidate]);
      const was = oldFamily[0]!.lock.architectures.amd64!.packages.find((p) => p.name === candidate)?.version;
      const now = newFamily[0]!.lock.architectures.amd64!.packages.find((p) => p.name === candidate)?.version;
      library = candidate;
      if (was !== now) break;
    }
    const built: Record<string, { old: ImageBlobs[]; new: ImageBlobs[] }> = {};
    for (const [name, planner] of Object.entries(STRATEGIES)) {
      const t = Date.now();
      built[name] = { old: await buildFamily(oldFamily, cache, planner), new: await buildFamily(newFamily, cache, planner) };
      process.stderr.write(`budget ${budget}: ${name} built in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
    const byBudget: Record<string, unknown> = { updatedLibrary: library };
    for (const [setName, count] of [['family', FAMILY.length], ['fleet', IMAGES.length]] as const) {
      const images = IMAGES.slice(0, count);
      const changed = new Map<string, string>();
      for (let i = 0; i < count; i++) {
        const before = new Map(oldFamily[i]!.lock.architectures.amd64!.packages.map((p) => [p.name, p.version]));
        for (const p of newFamily[i]!.lock.architectures.amd64!.packages) if (before.has(p.name) && before.get(p.name) !== p.version) changed.set(`${p.name}=${p.version}`, p.name);
      }
      const slice = (b: { old: ImageBlobs[]; new: ImageBlobs[] }) => ({ old: b.old.slice(0, count), new: b.new.slice(0, count) });
      const singleSum = slice(built.single!).old.reduce((n, i) => n + i.layers.reduce((a, l) => a + l.size, 0) + i.config.size + i.manifest.size, 0);
      // The changed packages' own layers: their one-package layers in the new per-package family.
      const own = new Map<string, Blob>();
      for (const img of slice(built['per-package']!).new) for (const [k, b] of img.packageLayers) if (changed.has(k)) own.set(k, b);
      const newMeta = slice(built.strata!).new.flatMap((i) => [i.config, i.manifest]);
      const floor = uniqueSize([...own.values()]) + uniqueSize(newMeta);
      const perStrategy: Record<string, { storeBytes: number; storeRatioToSingle: number; updatePullBytes: number; updateRatioToChangedLayers: number; maxLayers: number; layersPerImage: Record<string, number> }> = {};
      for (const [name, whole] of Object.entries(built)) {
        const b = slice(whole);
        const store = uniqueSize(allBlobs(b.old));
        const oldSet = new Set(allBlobs(b.old).map((x) => x.digest));
        const pull = uniqueSize(allBlobs(b.new).filter((x) => !oldSet.has(x.digest)));
        perStrategy[name] = {
          storeBytes: store,
          storeRatioToSingle: store / singleSum,
          updatePullBytes: pull,
          updateRatioToChangedLayers: pull / floor,
          maxLayers: Math.max(...b.old.map((i) => i.layers.length), ...b.new.map((i) => i.layers.length)),
          layersPerImage: Object.fromEntries(images.map((f, i) => [f.name, b.old[i]!.layers.length])),
        };
      }
      byBudget[setName] = {
        images: images.map((f) => f.name),
        singleLayerSumBytes: singleSum,
        changedPackages: [...changed.keys()].sort(),
        changedOwnLayersPlusMetadataBytes: floor,
        closureSizes: Object.fromEntries(images.map((f, i) => [f.name, oldFamily[i]!.lock.architectures.amd64!.packages.length])),
        strategies: perStrategy,
      };
      console.log(`\n### Budget ${budget}, the ${setName} (${count} images)\n`);
      console.log(`Sum of the ${count} images built as single-layer images: ${mb(singleSum)} MB. Update: \`--update ${library}\` changes ${changed.size} packages (${[...changed.keys()].join(', ')}); their own layers + the new configs and manifests: ${mb(floor)} MB.\n`);
      console.log('| strategy | store (MB) | store ÷ single-layer sum | update pull (MB) | pull ÷ changed layers | most layers in an image |');
      console.log('|---|---|---|---|---|---|');
      for (const [name, st] of Object.entries(perStrategy)) {
        console.log(`| ${name} | ${mb3(st.storeBytes)} | ${(st.storeRatioToSingle * 100).toFixed(1)} % | ${mb3(st.updatePullBytes)} | ${st.updateRatioToChangedLayers.toFixed(3)} | ${st.maxLayers} |`);
      }
    }
    (results.budgets as Record<string, unknown>)[budget] = byBudget;
  }
  results.seconds = (Date.now() - started) / 1000;
  await mkdir(new URL('../../bench/results/', import.meta.url), { recursive: true });
  await writeFile(new URL('../../bench/results/layering.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
}

await main();
