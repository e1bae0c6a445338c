// Benchmark of `strata build` against the build issue's targets (docs/performance.md, "Build"):
//
//   cold      all .debs in the cache, nothing else (no facts, no layers): `strata build` of the
//             spec, whole CLI process; ≤ 1.2 × the floor measured in the same run
//   floor     what any builder must at least do with the same input: `xz -dc` of every .deb's
//             data.tar.xz (extracted from the .debs before timing) piped into `gzip -6 -n`, one
//             pipeline per core at a time
//   rebuild   the same build again, nothing changed (layers from the cache); ≤ 0.3 s wall
//   update    the spec locked against the release suite only, built, then re-locked with all
//             the host's suites and `--update LIBRARY` (libssl3, else libc6): only the layers of
//             the changed packages (and the base and effects layers, always written) may be
//             recompressed
//   memory    max RSS (`/usr/bin/time -f %M`) of a cold build of every example, and of a big
//             image (openjdk-17-jre-headless); ≤ 300 MB each
//   mmdebstrap `mmdebstrap --variant=minbase --include=<the spec's packages>` into a tar, with the
//             host's apt sources, its .debs and apt lists kept between runs (the sync-in/sync-out
//             recipe of mmdebstrap(1)), after one warm-up run; strata cold must be ≥ 10 × faster
//
// Runs are interleaved (floor, cold, rebuild, floor, cold, …) so that the load of a shared
// machine falls on all of them alike; medians and spread (min–max) are reported, with CPU time
// (user + sys of the process and its children) beside wall time.
//
//   npm run build && node dist/bench/build.js [--runs N] [--rebuild-runs N] [--spec FILE]
//       [--cache-dir DIR] [--mmdebstrap-runs N] [--skip mmdebstrap,memory,update] [--wait-idle S]
//
// --wait-idle S waits up to S seconds before each round for the 1-minute load average to fall
// below the core count (the load at each round's start is recorded either way).
//
// Writes bench/results/build.json and prints the Markdown table of docs/performance.md.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readHostAptSources, type AptSource } from '../src/debian/apt-sources.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TIME = '/usr/bin/time';

interface Run {
  /** Wall time measured around the child process (ms). */
  wallMs: number;
  /** user + sys CPU time of the process and every child it waited for (ms). */
  cpuMs: number;
  /** Max RSS (KiB) of the largest process of the tree, as GNU time reports it. */
  maxRssKiB: number;
}

interface Stats {
  runs: number;
  median: number;
  min: number;
  max: number;
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { runs: s.length, median, min: s[0]!, max: s[s.length - 1]! };
}

/** Runs a command under GNU time; throws with its stderr when it fails. */
function timed(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): { run: Run; result: SpawnSyncReturns<string> } {
  const timeFile = join(WORK, `time.${process.pid}.txt`);
  const start = process.hrtime.bigint();
  const result = spawnSync(TIME, ['-f', '%U %S %M', '-o', timeFile, cmd, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? ENV,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${result.status})\n${result.stderr.slice(-4000)}`);
  const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!;
  const [user, sys, rss] = last.split(/\s+/).map(Number) as [number, number, number];
  return { run: { wallMs, cpuMs: (user + sys) * 1000, maxRssKiB: rss }, result };
}

function strata(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  return timed(process.execPath, [CLI, ...args], opts);
}

function must(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: ENV, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})\n${(r.stderr ?? '').slice(-4000)}`);
  return r.stdout;
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

/** The members of an ar archive (a .deb): name, offset of the data, size. */
function arMembers(path: string): Array<{ name: string; offset: number; size: number }> {
  const fd = openSync(path, 'r');
  try {
    const out: Array<{ name: string; offset: number; size: number }> = [];
    const header = Buffer.alloc(60);
    let pos = 8;
    for (;;) {
      if (readSync(fd, header, 0, 60, pos) < 60) break;
      const name = header.toString('latin1', 0, 16).trim().replace(/\/$/, '');
      const size = Number(header.toString('latin1', 48, 58).trim());
      out.push({ name, offset: pos + 60, size });
      pos += 60 + size + (size % 2);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function copyRange(from: string, offset: number, size: number, to: string): void {
  const buf = Buffer.allocUnsafe(size);
  const fd = openSync(from, 'r');
  try {
    readSync(fd, buf, 0, size, offset);
  } finally {
    closeSync(fd);
  }
  writeFileSync(to, buf);
}

/** A cache directory holding only the given .debs (hard links; copies across file systems). */
function freshCache(dir: string, debs: string[]): string {
  rmSync(dir, { recursive: true, force: true });
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  for (const d of debs) {
    try {
      linkSync(d, join(blobs, basename(d)));
    } catch {
      copyFileSync(d, join(blobs, basename(d)));
    }
  }
  return dir;
}

interface LockJson {
  architectures: Record<string, { packages: Array<{ name: string; version: string; sha256: string; size: number }> }>;
}

function lockedDebs(cacheDir: string, lockPath: string): string[] {
  const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as LockJson;
  const seen = new Set<string>();
  for (const a of Object.values(lock.architectures)) for (const p of a.packages) seen.add(p.sha256);
  return [...seen].sort().map((sha) => join(cacheDir, 'blobs', 'sha256', sha));
}

interface BuildJson {
  digest: string;
  platforms: Array<{ architecture: string; compressedBytes: number; uncompressedBytes: number; layers: Array<{ kind: string; packages: string[]; cached: boolean; size: number }> }>;
}

const DECOMPRESS: Record<string, string> = { xz: 'xz -dc', zst: 'zstd -dcq', gz: 'gzip -dc', tar: 'cat' };

// ---------------------------------------------------------------------------------------------

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    'rebuild-runs': { type: 'string' },
    'mmdebstrap-runs': { type: 'string' },
    spec: { type: 'string' },
    'cache-dir': { type: 'string' },
    skip: { type: 'string' },
    write: { type: 'string' },
    'wait-idle': { type: 'string' },
  },
});
const RUNS = Number(values.runs ?? 5);
const REBUILD_RUNS = Number(values['rebuild-runs'] ?? 2 * RUNS);
const MM_RUNS = Number(values['mmdebstrap-runs'] ?? 3);
const SPEC = resolve(values.spec ?? join(ROOT, 'examples', 'python.yaml'));
const SKIP = new Set((values.skip ?? '').split(',').filter((s) => s !== ''));
const CACHE = resolve(values['cache-dir'] ?? join(tmpdir(), 'strata-bench-build'));
const WORK = mkdtempSync(join(tmpdir(), 'strata-bench-build-'));
const CORES = availableParallelism();
const WAIT_IDLE_S = Number(values['wait-idle'] ?? 0);

/** Waits (at most --wait-idle seconds) for the 1-minute load average to fall below the core count. */
async function waitIdle(): Promise<number> {
  const until = Date.now() + WAIT_IDLE_S * 1000;
  while (loadavg()[0]! >= CORES && Date.now() < until) await new Promise((r) => setTimeout(r, 2000));
  return loadavg()[0]!;
}
const ENV: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LC_ALL: 'C' };
delete ENV.SOURCE_DATE_EPOCH;

const specName = basename(SPEC).replace(/\.ya?ml$/, '');
const specLock = SPEC.replace(/\.ya?ml$/, '.lock.json');
const specPackages = (() => {
  const m = /^packages:\s*\[([^\]]*)\]/m.exec(readFileSync(SPEC, 'utf8'));
  if (m === null) throw new Error(`${SPEC}: expected a one-line "packages: [...]"`);
  return m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
})();
const golden = (() => {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'test', 'golden-digests.json'), 'utf8')) as Record<string, string>)[specName];
  } catch {
    return undefined;
  }
})();

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { loadAverageAtStart: loadavg()[0], node: process.version, cpu: cpus()[0]?.model, cores: CORES, memoryGiB: Math.round(Number(spawnSync('awk', ['/MemTotal/ {print $2}', '/proc/meminfo'], { encoding: 'utf8' }).stdout) / 1048576) },
  spec: SPEC.startsWith(`${ROOT}/`) ? SPEC.slice(ROOT.length + 1) : basename(SPEC),
  runs: RUNS,
};
const rows: Array<{ what: string; value: string; target: string; ok?: boolean }> = [];
const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
const spread = (s: Stats) => `${ms(s.median)} (${ms(s.min)}–${ms(s.max)}, n=${s.runs})`;

// --- Setup: the .debs, and the floor's inputs --------------------------------------------------
log(`fetching the .debs of ${basename(SPEC)} into ${CACHE}`);
must(process.execPath, [CLI, 'fetch', SPEC, '--cache-dir', CACHE]);
const debs = lockedDebs(CACHE, specLock);
const floorDir = join(WORK, 'floor');
mkdirSync(floorDir);
const floorFiles: Array<{ file: string }> = [];
for (const deb of debs) {
  const data = arMembers(deb).find((m) => m.name.startsWith('data.tar'));
  if (data === undefined) throw new Error(`${deb}: no data.tar member`);
  const ext = data.name.split('.').pop()!;
  const file = join(floorDir, `${basename(deb)}.${data.name}`);
  copyRange(deb, data.offset, data.size, file);
  if (DECOMPRESS[ext] === undefined) throw new Error(`${deb}: ${data.name} has an unknown compression`);
  floorFiles.push({ file });
}
const floorOne = join(WORK, 'floor-one.sh');
writeFileSync(floorOne, `case "$1" in ${Object.entries(DECOMPRESS).map(([ext, cmd]) => `*.${ext}) ${cmd} "$1" ;;`).join(' ')} esac | gzip -6 -n > /dev/null\n`);
const floorList = join(WORK, 'floor-list');
writeFileSync(floorList, floorFiles.map((f) => f.file).join('\n') + '\n');
// One pipeline per core at a time: xargs -P runs `decompress MEMBER | gzip -6 -n` for each member.
const floorArgs = ['-c', `xargs -P ${CORES} -n 1 sh '${floorOne}' < '${floorList}'`];

// --- Cold, floor, rebuild (interleaved) ----------------------------------------------------------
const cold: Run[] = [];
const floor: Run[] = [];
const rebuild: Run[] = [];
let coldJson: BuildJson | undefined;
const coldCache = join(WORK, 'cold-cache');
log(`cold/floor/rebuild: ${RUNS} rounds`);
const loads: number[] = [];
for (let i = 0; i < RUNS; i++) {
  loads.push(await waitIdle());
  floor.push(timed('sh', floorArgs).run);
  freshCache(coldCache, debs);
  const c = strata(['build', SPEC, '--cache-dir', coldCache, '-o', join(WORK, 'cold.oci'), '--json']);
  cold.push(c.run);
  coldJson = JSON.parse(c.result.stdout) as BuildJson;
  const perRound = Math.ceil(REBUILD_RUNS / RUNS);
  for (let j = 0; j < perRound && rebuild.length < REBUILD_RUNS; j++) {
    const r = strata(['build', SPEC, '--cache-dir', coldCache, '-o', join(WORK, `rebuild.oci`), '--json']);
    const j2 = JSON.parse(r.result.stdout) as BuildJson;
    if (j2.digest !== coldJson.digest) throw new Error(`rebuild gave ${j2.digest}, cold gave ${coldJson.digest}`);
    rebuild.push(r.run);
  }
  log(`  round ${i + 1} (load ${loads[i]!.toFixed(1)}): floor ${ms(floor[i]!.wallMs)}, cold ${ms(cold[i]!.wallMs)}, rebuild ${ms(rebuild[rebuild.length - 1]!.wallMs)}`);
}
const coldWall = stats(cold.map((r) => r.wallMs));
const floorWall = stats(floor.map((r) => r.wallMs));
const rebuildWall = stats(rebuild.map((r) => r.wallMs));
const ratioPerRound = stats(cold.map((c, i) => c.wallMs / floor[i]!.wallMs));
const p0 = coldJson!.platforms[0]!;
results.image = { digest: coldJson!.digest, goldenDigest: golden ?? null, matchesGolden: golden === undefined ? null : golden === coldJson!.digest, layers: p0.layers.length, compressedBytes: p0.compressedBytes, uncompressedBytes: p0.uncompressedBytes, debs: debs.length };
results.cold = { wallMs: coldWall, cpuMs: stats(cold.map((r) => r.cpuMs)), maxRssKiB: stats(cold.map((r) => r.maxRssKiB)), all: cold };
results.floor = { wallMs: floorWall, cpuMs: stats(floor.map((r) => r.cpuMs)), all: floor, members: floorFiles.length, command: `xz -dc MEMBER | gzip -6 -n > /dev/null, ${CORES} at a time (xargs -P ${CORES})` };
results.rebuild = { wallMs: rebuildWall, cpuMs: stats(rebuild.map((r) => r.cpuMs)), maxRssKiB: stats(rebuild.map((r) => r.maxRssKiB)), all: rebuild };
const coldRatio = coldWall.median / floorWall.median;
results.loadAverageAtRoundStart = loads;
results.ratios = { coldOverFloor: coldRatio, coldOverFloorPerRound: ratioPerRound, coldCpuOverFloorCpu: stats(cold.map((r) => r.cpuMs)).median / stats(floor.map((r) => r.cpuMs)).median };
rows.push({ what: `floor: \`xz -dc\` + \`gzip -6 -n\` of the ${floorFiles.length} data members, ${CORES} at a time`, value: spread(floorWall), target: '(baseline)' });
rows.push({ what: `cold build (.debs cached, nothing else)`, value: spread(coldWall), target: '' });
rows.push({ what: 'cold ÷ floor (medians; per-round median in brackets)', value: `${coldRatio.toFixed(2)} (${ratioPerRound.median.toFixed(2)})`, target: '≤ 1.2', ok: coldRatio <= 1.2 });
rows.push({ what: 'CPU time, cold ÷ floor (user + sys, medians)', value: `${ms(stats(cold.map((r) => r.cpuMs)).median)} ÷ ${ms(stats(floor.map((r) => r.cpuMs)).median)}`, target: '' });
rows.push({ what: 'rebuild, nothing changed (whole CLI process)', value: spread(rebuildWall), target: '≤ 0.3 s', ok: rebuildWall.median <= 300 });

// --- Update: one package changes -----------------------------------------------------------------
if (!SKIP.has('update')) {
  log('update: lock against the release suite, build, re-lock with --update, build');
  const host = await readHostAptSources();
  const release = [...new Set(host.map((h) => h.suite))].filter((s) => !s.includes('-') && !s.includes('/')).sort()[0];
  if (release === undefined) throw new Error('the host apt sources have no release suite (a suite without "-")');
  const dir = join(WORK, 'update');
  mkdirSync(dir);
  const spec = join(dir, `${specName}.yaml`);
  const body = readFileSync(SPEC, 'utf8');
  const lockFile = spec.replace(/\.yaml$/, '.lock.json');
  writeFileSync(spec, `source:\n  suites: [${release}]\n${body}`);
  must(process.execPath, [CLI, 'lock', spec, '--cache-dir', CACHE]);
  const before = JSON.parse(readFileSync(lockFile, 'utf8')) as LockJson;
  const updateCache = join(WORK, 'update-cache');
  must(process.execPath, [CLI, 'fetch', spec, '--cache-dir', CACHE]);
  freshCache(updateCache, lockedDebs(CACHE, lockFile));
  strata(['build', spec, '--cache-dir', updateCache, '-o', join(dir, 'old.oci'), '--json']);
  writeFileSync(spec, body);
  let library = '';
  let changed: string[] = [];
  const previousLock = readFileSync(lockFile, 'utf8');
  for (const candidate of ['libssl3', 'libc6', 'libpython3.11-minimal']) {
    writeFileSync(lockFile, previousLock);
    must(process.execPath, [CLI, 'lock', spec, '--update', candidate, '--cache-dir', CACHE]);
    const after = JSON.parse(readFileSync(lockFile, 'utf8')) as LockJson;
    const was = new Map(Object.values(before.architectures).flatMap((a) => a.packages.map((p) => [p.name, p.version] as const)));
    changed = Object.values(after.architectures).flatMap((a) => a.packages.filter((p) => was.get(p.name) !== p.version).map((p) => p.name));
    library = candidate;
    if (changed.length > 0) break;
  }
  must(process.execPath, [CLI, 'fetch', spec, '--cache-dir', CACHE]);
  for (const d of lockedDebs(CACHE, lockFile)) if (!existsSync(join(updateCache, 'blobs', 'sha256', basename(d)))) linkSync(d, join(updateCache, 'blobs', 'sha256', basename(d)));
  const u = strata(['build', spec, '--cache-dir', updateCache, '-o', join(dir, 'new.oci'), '--json']);
  const built = JSON.parse(u.result.stdout) as BuildJson;
  const layers = built.platforms[0]!.layers;
  const rebuilt = layers.filter((l) => !l.cached);
  const rebuiltPackages = rebuilt.filter((l) => l.kind === 'packages');
  const changedSet = new Set(changed);
  const unexpected = rebuiltPackages.filter((l) => !l.packages.some((p) => changedSet.has(p)));
  const missed = changed.filter((p) => !rebuiltPackages.some((l) => l.packages.includes(p)));
  const ok = unexpected.length === 0 && missed.length === 0 && rebuilt.every((l) => l.kind !== 'packages' || l.packages.some((p) => changedSet.has(p)));
  results.update = {
    releaseSuite: release,
    library,
    changedPackages: changed,
    layers: layers.length,
    rebuiltLayers: rebuilt.map((l) => ({ kind: l.kind, packages: l.packages, size: l.size })),
    unexpectedRebuilds: unexpected.map((l) => l.packages),
    changedButCached: missed,
    buildWallMs: u.run.wallMs,
    ok,
  };
  rows.push({
    what: `update: \`--update ${library}\` changes ${changed.length} package${changed.length === 1 ? '' : 's'} (${changed.join(', ')}); layers recompressed`,
    value: `${rebuiltPackages.length} package layer${rebuiltPackages.length === 1 ? '' : 's'} + ${rebuilt.length - rebuiltPackages.length} (base, effects) of ${layers.length}, in ${ms(u.run.wallMs)}`,
    target: 'only the changed packages\' layers',
    ok,
  });
}

// --- Memory: every example, and a big image -------------------------------------------------------
if (!SKIP.has('memory')) {
  const memory: Record<string, unknown> = {};
  const targets: Array<{ name: string; spec: string }> = readdirSync(join(ROOT, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ name: f.replace(/\.yaml$/, ''), spec: join(ROOT, 'examples', f) }));
  const bigDir = join(WORK, 'big');
  mkdirSync(bigDir);
  const bigSpec = join(bigDir, 'openjdk.yaml');
  writeFileSync(bigSpec, 'packages: [openjdk-17-jre-headless]\n');
  log('memory: locking openjdk-17-jre-headless');
  must(process.execPath, [CLI, 'lock', bigSpec, '--cache-dir', CACHE]);
  targets.push({ name: 'openjdk-17-jre-headless (temp spec)', spec: bigSpec });
  let worst = 0;
  for (const t of targets) {
    log(`memory: ${t.name}`);
    must(process.execPath, [CLI, 'fetch', t.spec, '--cache-dir', CACHE]);
    const cache = freshCache(join(WORK, 'mem-cache'), lockedDebs(CACHE, t.spec.replace(/\.yaml$/, '.lock.json')));
    const b = strata(['build', t.spec, '--cache-dir', cache, '-o', join(WORK, 'mem.oci'), '--json']);
    const j = JSON.parse(b.result.stdout) as BuildJson;
    const uncompressed = j.platforms.reduce((n, p) => n + p.uncompressedBytes, 0);
    memory[t.name] = { maxRssKiB: b.run.maxRssKiB, coldWallMs: b.run.wallMs, uncompressedBytes: uncompressed, compressedBytes: j.platforms.reduce((n, p) => n + p.compressedBytes, 0), platforms: j.platforms.length };
    worst = Math.max(worst, b.run.maxRssKiB);
    rows.push({ what: `peak memory, cold build of ${t.name} (${(uncompressed / 1e6).toFixed(0)} MB unpacked)`, value: `${(b.run.maxRssKiB / 1024).toFixed(0)} MiB`, target: '≤ 300 MB', ok: b.run.maxRssKiB * 1024 <= 300e6 });
  }
  rmSync(join(WORK, 'mem-cache'), { recursive: true, force: true });
  results.memory = memory;
  results.memoryWorstKiB = worst;
}

// --- mmdebstrap ------------------------------------------------------------------------------------
if (!SKIP.has('mmdebstrap')) {
  const which = spawnSync('sh', ['-c', 'command -v mmdebstrap'], { encoding: 'utf8' });
  if (which.status !== 0) {
    log('mmdebstrap is not installed (apt-get install mmdebstrap): skipped');
    results.mmdebstrap = { skipped: 'not installed' };
  } else {
    const host = await readHostAptSources();
    const release = [...new Set(host.map((h: AptSource) => h.suite))].filter((s) => !s.includes('-') && !s.includes('/')).sort()[0]!;
    // The host's apt sources as one-line entries (the mirror is never named here).
    const mirrors = host.map((h) => {
      const signed = h.signedBy?.kind === 'files' ? ` [signed-by=${h.signedBy.paths.join(',')}]` : '';
      return `deb${signed} ${h.uri} ${h.suite} ${h.components.join(' ')}`;
    });
    const persist = join(CACHE, 'mmdebstrap');
    mkdirSync(join(persist, 'archives'), { recursive: true });
    mkdirSync(join(persist, 'lists'), { recursive: true });
    const out = join(WORK, 'mmdebstrap.tar');
    const args = [
      '--mode=root',
      '--variant=minbase',
      `--include=${specPackages.join(',')}`,
      '--skip=essential/unlink',
      `--setup-hook=mkdir -p "$1"/var/cache/apt/archives/ "$1"/var/lib/apt/lists/`,
      `--setup-hook=sync-in ${join(persist, 'archives')} /var/cache/apt/archives/`,
      `--setup-hook=sync-in ${join(persist, 'lists')} /var/lib/apt/lists/`,
      `--customize-hook=sync-out /var/cache/apt/archives ${join(persist, 'archives')}`,
      `--customize-hook=sync-out /var/lib/apt/lists ${join(persist, 'lists')}`,
      '--quiet',
      release,
      out,
      ...mirrors,
    ];
    log('mmdebstrap: warm-up run');
    const warm = timed('mmdebstrap', args);
    const mm: Run[] = [];
    // Each mmdebstrap run is paired with a strata cold build just before it, so that both
    // sides of the ratio see the same load.
    const paired: Run[] = [];
    for (let i = 0; i < MM_RUNS; i++) {
      await waitIdle();
      freshCache(coldCache, debs);
      paired.push(strata(['build', SPEC, '--cache-dir', coldCache, '-o', join(WORK, 'cold.oci'), '--json']).run);
      rmSync(out, { force: true });
      mm.push(timed('mmdebstrap', args).run);
      log(`  mmdebstrap run ${i + 1}: ${ms(mm[i]!.wallMs)} (strata cold just before: ${ms(paired[i]!.wallMs)})`);
    }
    const tarBytes = Number(must('stat', ['-c', '%s', out]).trim());
    const debsInTar = must('sh', ['-c', `tar -tf '${out}' | grep -c '\\.deb$' || true`]).trim();
    const mmWall = stats(mm.map((r) => r.wallMs));
    const pairedWall = stats(paired.map((r) => r.wallMs));
    const speedup = mmWall.median / pairedWall.median;
    const perPair = stats(mm.map((r, i) => r.wallMs / paired[i]!.wallMs));
    results.mmdebstrap = {
      version: must('mmdebstrap', ['--version']).trim(),
      suite: release,
      sources: host.length,
      arguments: args.map((a) => a.split(CACHE).join('$CACHE').split(WORK).join('$WORK')).filter((a) => !a.startsWith('deb ') && !a.startsWith('deb[')),
      warmupWallMs: warm.run.wallMs,
      wallMs: mmWall,
      cpuMs: stats(mm.map((r) => r.cpuMs)),
      all: mm,
      tarBytes,
      debsLeftInTar: Number(debsInTar),
      pairedStrataColdWallMs: pairedWall,
      pairedStrataCold: paired,
      speedupOverStrataCold: speedup,
      speedupPerPair: perPair,
      cpuRatio: stats(mm.map((r) => r.cpuMs)).median / stats(paired.map((r) => r.cpuMs)).median,
    };
    rows.push({ what: `mmdebstrap --variant=minbase --include=${specPackages.join(',')} (warm .deb and list caches)`, value: spread(mmWall), target: '' });
    rows.push({ what: 'strata cold build, run just before each mmdebstrap run', value: spread(pairedWall), target: '' });
    rows.push({ what: 'mmdebstrap ÷ strata cold (medians; per-pair median in brackets)', value: `${speedup.toFixed(1)} × (${perPair.median.toFixed(1)} ×)`, target: '≥ 10 ×', ok: speedup >= 10 });
  }
}

// --- Output ------------------------------------------------------------------------------------
const table = [
  `| ${basename(SPEC)}: ${(results.image as { debs: number }).debs} .debs, ${(p0.uncompressedBytes / 1e6).toFixed(1)} MB of layers (${(p0.compressedBytes / 1e6).toFixed(1)} MB gzip), ${CORES} cores | median (min–max, runs) | target | met |`,
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.what} | ${r.value} | ${r.target} | ${r.ok === undefined ? '' : r.ok ? 'yes' : '**no**'} |`),
].join('\n');
results.table = table;
const resultsDir = join(ROOT, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const outFile = values.write ?? join(resultsDir, 'build.json');
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(table);
console.log(`\n${process.version}, ${cpus()[0]?.model}, ${CORES} cores; results in ${outFile.startsWith(ROOT) ? outFile.slice(ROOT.length + 1) : outFile}`);
rmSync(WORK, { recursive: true, force: true });
