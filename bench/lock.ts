// Benchmark of `strata lock` against its baselines (docs/performance.md, "Lock"):
//
//   warm lock   the whole CLI process `strata lock SPEC --update` with a cache that already
//               holds the parsed indexes (the InRelease files are fetched again each run, as
//               a user's run does), against the whole `apt-get install -s` process for the
//               same request. Target: strata / apt ≤ 0.5.
//   cold parse  parsing the bookworm main amd64 Packages.xz as loadIndex does after download
//               (decompress, parse, index, serialise, write), in a fresh process, against
//               `xz -dc Packages.xz > /dev/null`. Target: strata / xz ≤ 1.5. The same with
//               the WASM xz decoder (STRATA_XZ=wasm) is reported for information.
//
// Runs are interleaved with their baseline, after one warm-up of each; medians and ratios
// of medians are reported. The index is downloaded once per run of this script, by strata
// itself from the host's apt sources, into a private cache that is removed at the end.
//
//   npm run build && node dist/bench/lock.js [options]
//     --runs N          warm-lock runs per request (default 7)
//     --parse-runs N    cold-parse runs (default 5)
//     --request "A B"   a request to time (repeatable); default: postgresql curl, redis-server
//     --only lock|parse one half only
//     --wait-idle S     before each round, wait up to S seconds for the cores to be mostly
//                       idle (< 25% busy over half a second): for shared machines
//     --survey          also print the closure sizes of some candidate requests
//     --no-write        do not write bench/results/lock.{json,md}
//     --keep            keep the scratch directory (printed)
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheDir } from '../src/cache/cache-dir.js';
import type { Lockfile } from '../src/debian/lockfile.js';
import {
  endLoad, GNU_TIME, log, waitIdle, machineFacts, median, mustSucceed, REPO_ROOT, resultsPath, round, runTimed, series, table, writeResults,
  type Series,
} from './lib/measure.js';

interface Options {
  runs: number;
  parseRuns: number;
  requests: string[][];
  only?: 'lock' | 'parse';
  survey: boolean;
  /** Seconds to wait at most, before each round, for the machine to be idle; 0: do not wait. */
  waitIdle: number;
  write: boolean;
  keep: boolean;
}

/** The default requests: one whose full closure is about 100 packages on bookworm, and the issue's example. */
const DEFAULT_REQUESTS = [['postgresql', 'curl'], ['redis-server']];
/** Candidates for --survey, when the archive has drifted and another request is nearer 100. */
const SURVEY = [['python3'], ['git'], ['curl'], ['nginx'], ['redis-server'], ['mariadb-server'], ['postgresql'], ['postgresql', 'curl'], ['git', 'build-essential'], ['emacs-nox'], ['python3', 'git', 'curl', 'nginx']];

function parseOptions(argv: string[]): Options {
  const o: Options = { runs: 7, parseRuns: 5, requests: [], survey: false, waitIdle: 0, write: true, keep: false };
  const count = (v: string | undefined, name: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} needs an integer ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--runs') o.runs = count(argv[++i], a, 1);
    else if (a === '--parse-runs') o.parseRuns = count(argv[++i], a, 1);
    else if (a === '--request') o.requests.push((argv[++i] ?? '').split(/[\s,]+/).filter((w) => w !== ''));
    else if (a === '--only') {
      const v = argv[++i];
      if (v !== 'lock' && v !== 'parse') throw new Error('--only takes lock or parse');
      o.only = v;
    } else if (a === '--survey') o.survey = true;
    else if (a === '--wait-idle') o.waitIdle = count(argv[++i], a, 1);
    else if (a === '--no-write') o.write = false;
    else if (a === '--keep') o.keep = true;
    else throw new Error(`unknown option ${a} (see the top of bench/lock.ts)`);
  }
  if (o.requests.length === 0) o.requests = DEFAULT_REQUESTS;
  return o;
}

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const PARSE_CHILD = join(REPO_ROOT, 'dist', 'bench', 'lib', 'parse-child.js');
const APT_ARGS = ['install', '-s', '--no-install-recommends', '-o', 'Dir::State::status=/dev/null', '-o', 'Debug::NoLocking=1'];
const requestId = (r: string[]) => r.join(' ');

class Bench {
  readonly work: string;
  readonly cacheDir: string;
  private n = 0;

  constructor(work: string) {
    this.work = work;
    this.cacheDir = join(work, 'cache');
  }

  private scratch(label: string): string {
    return join(this.work, `${label}.${this.n++}`);
  }

  async writeSpec(request: string[]): Promise<{ spec: string; lockfile: string }> {
    const base = join(this.work, request.join('+').replace(/[^A-Za-z0-9+.-]/g, '_'));
    await writeFile(`${base}.yaml`, `packages: [${request.join(', ')}]\nprofile: full\n`);
    return { spec: `${base}.yaml`, lockfile: `${base}.lock.json` };
  }

  /** The whole `strata lock` process. */
  async strataLock(spec: string, lockfile: string, update: boolean) {
    const argv = [process.execPath, CLI, 'lock', spec, ...(update ? ['--update'] : []), '--cache-dir', this.cacheDir, '--lockfile', lockfile];
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    const rssFile = this.scratch('rss');
    if (GNU_TIME === undefined) {
      // No GNU time: the CLI reports its own peak RSS on exit.
      argv.splice(1, 0, `--import=data:text/javascript,import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(process.env.STRATA_BENCH_RSS,String(process.resourceUsage().maxRSS)))`);
      env.STRATA_BENCH_RSS = rssFile;
    }
    const run = mustSucceed(await runTimed(argv, { env, rssFile }), `strata lock ${spec}`);
    if (GNU_TIME === undefined) {
      const text = await readFile(rssFile, 'utf8').catch(() => '');
      if (/^[0-9]+$/.test(text)) run.maxRssKiB = Number(text);
      await rm(rssFile, { force: true });
    }
    return run;
  }

  async aptSimulate(request: string[]) {
    return runTimed(['apt-get', ...APT_ARGS, ...request], { env: { ...process.env, LC_ALL: 'C' }, rssFile: this.scratch('rss') });
  }
}

async function closureSize(lockfile: string): Promise<number> {
  const lock = JSON.parse(await readFile(lockfile, 'utf8')) as Lockfile;
  const arch = Object.keys(lock.architectures).sort()[0]!;
  return lock.architectures[arch]!.packages.length;
}

const aptInstalls = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('Inst ')).length;

function aptListsPresent(): boolean {
  try {
    return readdirSync('/var/lib/apt/lists').some((n) => n.includes('_Packages'));
  } catch {
    return false;
  }
}

interface LockMeasurement {
  request: string;
  closure: { strata: number; apt: number };
  strataMs: Series;
  aptMs: Series;
  ratio: number;
  target: number;
  met: boolean;
  strataMaxRssKiB?: Series;
  aptMaxRssKiB?: Series;
  /** CPU time (user + system) of each process, for information: less sensitive to other load. */
  strataCpuMs?: Series;
  aptCpuMs?: Series;
}

async function benchLock(b: Bench, opts: Options) {
  const result: { runs: number; warmups: number; aptUpdateRan: boolean; coldFirstLockMs?: number; busyBeforeRounds: Array<number | null>; requests: LockMeasurement[] } = {
    runs: opts.runs,
    warmups: 1,
    aptUpdateRan: false,
    busyBeforeRounds: [],
    requests: [],
  };
  if (!aptListsPresent()) {
    log('apt lists are missing: running apt-get update once');
    mustSucceed(await runTimed(['apt-get', 'update', '-qq']), 'apt-get update');
    result.aptUpdateRan = true;
  }
  const setups: Array<{ request: string[]; spec: string; lockfile: string; closure: { strata: number; apt: number } }> = [];
  for (const request of opts.requests) {
    const { spec, lockfile } = await b.writeSpec(request);
    // The first lock fills the cache (downloads and parses the indexes: cold) and makes the lock.
    const first = await b.strataLock(spec, lockfile, false);
    result.coldFirstLockMs ??= round(first.ms);
    // Warm-ups, and the closure sizes of both.
    await b.strataLock(spec, lockfile, true);
    const apt = await b.aptSimulate(request);
    mustSucceed(apt, `apt-get install -s ${request.join(' ')}`);
    const closure = { strata: await closureSize(lockfile), apt: aptInstalls(apt.stdout) };
    log(`warm lock ${requestId(request)}: closure ${closure.strata} packages (apt: ${closure.apt})`);
    setups.push({ request, spec, lockfile, closure });
  }
  const times = setups.map(() => ({ strata: [] as number[], apt: [] as number[], strataRss: [] as number[], aptRss: [] as number[], strataCpu: [] as number[], aptCpu: [] as number[] }));
  for (let round_ = 0; round_ < opts.runs; round_++) {
    await beforeRound(opts, result.busyBeforeRounds);
    for (let k = 0; k < setups.length; k++) {
      const s = setups[k]!;
      const t = times[k]!;
      // Alternate which goes first, so neither always runs right after the other.
      const order = round_ % 2 === 0 ? ['strata', 'apt'] : ['apt', 'strata'];
      for (const which of order) {
        if (which === 'strata') {
          const run = await b.strataLock(s.spec, s.lockfile, true);
          t.strata.push(run.ms);
          if (run.maxRssKiB !== undefined) t.strataRss.push(run.maxRssKiB);
          if (run.cpuMs !== undefined) t.strataCpu.push(run.cpuMs);
        } else {
          const run = mustSucceed(await b.aptSimulate(s.request), 'apt-get install -s');
          t.apt.push(run.ms);
          if (run.maxRssKiB !== undefined) t.aptRss.push(run.maxRssKiB);
          if (run.cpuMs !== undefined) t.aptCpu.push(run.cpuMs);
        }
      }
    }
    log(`warm lock round ${round_ + 1}/${opts.runs}: ${setups.map((s, k) => `${requestId(s.request)} ${Math.round(times[k]!.strata.at(-1)!)} ms vs apt ${Math.round(times[k]!.apt.at(-1)!)} ms`).join('; ')}`);
  }
  setups.forEach((s, k) => {
    const t = times[k]!;
    const m: LockMeasurement = {
      request: requestId(s.request),
      closure: s.closure,
      strataMs: series('ms', t.strata),
      aptMs: series('ms', t.apt),
      ratio: round(median(t.strata) / median(t.apt), 3),
      target: 0.5,
      met: median(t.strata) / median(t.apt) <= 0.5,
    };
    if (t.strataRss.length > 0) m.strataMaxRssKiB = series('KiB', t.strataRss, 0);
    if (t.aptRss.length > 0) m.aptMaxRssKiB = series('KiB', t.aptRss, 0);
    if (t.strataCpu.length > 0) m.strataCpuMs = series('ms', t.strataCpu, 0);
    if (t.aptCpu.length > 0) m.aptCpuMs = series('ms', t.aptCpu, 0);
    result.requests.push(m);
  });
  return { result, lockfile: setups[0]?.lockfile };
}

/**
 * With --wait-idle, waits for the machine to be mostly idle before a round; records how busy
 * its cores were (fraction, over the half second before the round) either way.
 */
async function beforeRound(opts: Options, busy: Array<number | null>): Promise<void> {
  const r = await waitIdle(IDLE_THRESHOLD, opts.waitIdle * 1000);
  busy.push(r.busy ?? null);
  if (opts.waitIdle > 0 && r.waitedMs > 1000) log(`waited ${Math.round(r.waitedMs / 1000)} s for an idle machine (cores ${Math.round((r.busy ?? 0) * 100)}% busy)`);
}

/** The bookworm main amd64 index from a lock made on this host (else the first suite's main amd64). */
async function pickIndex(lockfile: string, cacheDir: string) {
  const lock = JSON.parse(await readFile(lockfile, 'utf8')) as Lockfile;
  const suite = lock.suites.find((s) => s.suite === 'bookworm' || s.codename === 'bookworm') ?? lock.suites[0]!;
  const index =
    suite.indexes.find((ix) => ix.path === 'main/binary-amd64/Packages.xz') ??
    suite.indexes.find((ix) => /^main\/binary-[^/]+\/Packages\.xz$/.test(ix.path)) ??
    suite.indexes[0]!;
  const blob = (await CacheDir.open(cacheDir)).blobPath(index.sha256);
  return { suite: suite.suite, codename: suite.codename, path: index.path, sha256: index.sha256, size: index.size, blob };
}

/** The uncompressed size from the .xz index (`xz --robot --list`), undefined when unknown. */
async function xzUncompressedSize(path: string): Promise<number | undefined> {
  const run = await runTimed(['xz', '--robot', '--list', path]).catch(() => undefined);
  const totals = run?.stdout.split('\n').find((l) => l.startsWith('totals\t'));
  const n = Number(totals?.split('\t')[4]);
  return Number.isSafeInteger(n) ? n : undefined;
}

async function benchParse(b: Bench, opts: Options, lockfile: string | undefined) {
  if (lockfile === undefined) {
    // --only parse: one lock downloads the indexes.
    const paths = await b.writeSpec(['base-files']);
    await b.strataLock(paths.spec, paths.lockfile, false);
    lockfile = paths.lockfile;
  }
  const ix = await pickIndex(lockfile, b.cacheDir);
  if (!existsSync(ix.blob)) throw new Error(`the index ${ix.path} of ${ix.suite} is not in the cache`);
  log(`cold parse: ${ix.suite} ${ix.path} (${(ix.size / 1048576).toFixed(1)} MiB compressed)`);
  const child = async (wasm: boolean) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (wasm) env.STRATA_XZ = 'wasm';
    else delete env.STRATA_XZ;
    const run = mustSucceed(await runTimed([process.execPath, PARSE_CHILD, ix.blob, ix.path, b.work], { env }), 'parse-child');
    const r = JSON.parse(run.stdout) as { ms: number; cpuMs: number; records: number; decoder: string; maxRssKiB: number };
    return { ...r, wallMs: run.ms };
  };
  // Timed runs of the baseline are the bare process; its CPU time comes from the warm-up, run under GNU time.
  const xz = (cpu = false) => runTimed(['xz', '-dc', ix.blob], cpu ? { discardStdout: true, rssFile: join(b.work, 'xz-time') } : { discardStdout: true }).then((r) => mustSucceed(r, 'xz -dc'));
  // Warm-ups (page cache, disk).
  const xzCpuMs = (await xz(true)).cpuMs;
  const first = await child(false);
  await child(true);
  const t = { xz: [] as number[], strata: [] as number[], strataWall: [] as number[], strataRss: [] as number[], strataCpu: [] as number[], wasm: [] as number[], wasmWall: [] as number[] };
  const busyBeforeRounds: Array<number | null> = [];
  for (let i = 0; i < opts.parseRuns; i++) {
    await beforeRound(opts, busyBeforeRounds);
    const order = i % 2 === 0 ? ['xz', 'strata', 'wasm'] : ['wasm', 'strata', 'xz'];
    for (const which of order) {
      if (which === 'xz') t.xz.push((await xz()).ms);
      else if (which === 'strata') {
        const r = await child(false);
        t.strata.push(r.ms);
        t.strataWall.push(r.wallMs);
        t.strataRss.push(r.maxRssKiB);
        t.strataCpu.push(r.cpuMs);
      } else {
        const r = await child(true);
        t.wasm.push(r.ms);
        t.wasmWall.push(r.wallMs);
      }
    }
    log(`cold parse round ${i + 1}/${opts.parseRuns}: xz -dc ${Math.round(t.xz.at(-1)!)} ms, strata ${Math.round(t.strata.at(-1)!)} ms, strata (WASM xz) ${Math.round(t.wasm.at(-1)!)} ms`);
  }
  const ratio = median(t.strata) / median(t.xz);
  return {
    runs: opts.parseRuns,
    warmups: 1,
    busyBeforeRounds,
    index: { suite: ix.suite, codename: ix.codename, path: ix.path, sha256: ix.sha256, compressedBytes: ix.size, uncompressedBytes: await xzUncompressedSize(ix.blob), records: first.records },
    xzMs: series('ms', t.xz),
    /** The warm-up run's, for information. */
    xzCpuMs: xzCpuMs === undefined ? undefined : round(xzCpuMs),
    strataMs: series('ms', t.strata),
    strataCpuMs: series('ms', t.strataCpu),
    strataProcessWallMs: series('ms', t.strataWall),
    strataMaxRssKiB: series('KiB', t.strataRss, 0),
    ratio: round(ratio, 3),
    target: 1.5,
    met: ratio <= 1.5,
    wasm: { strataMs: series('ms', t.wasm), strataProcessWallMs: series('ms', t.wasmWall), ratio: round(median(t.wasm) / median(t.xz), 3) },
  };
}

async function survey(b: Bench): Promise<Array<{ request: string; closure: number }>> {
  const out = [];
  for (const request of SURVEY) {
    const { spec, lockfile } = await b.writeSpec(request);
    await b.strataLock(spec, lockfile, false);
    out.push({ request: requestId(request), closure: await closureSize(lockfile) });
    log(`survey: ${requestId(request)} → ${out.at(-1)!.closure} packages`);
  }
  return out;
}

/** With --wait-idle, a round starts once the cores are less busy than this (fraction). */
const IDLE_THRESHOLD = 0.25;

/** A start load average at or above this means other work was running. */
const BUSY_LOAD = 1;

const fmtMs = (s: Series) => `${Math.round(s.median)} ms`;
const fmtMiB = (s: Series | undefined) => (s === undefined ? 'n/a' : `${(s.median / 1024).toFixed(0)} MiB`);

function markdown(results: Awaited<ReturnType<typeof collect>>): string {
  const rows: Array<Array<string | number>> = [];
  for (const m of results.warmLock?.requests ?? []) {
    rows.push([`warm \`strata lock --update\` of ${m.request} (${m.closure.strata} packages)`, m.strataMs.runs.length, fmtMs(m.strataMs), `${fmtMs(m.aptMs)} (apt-get install -s)`, m.ratio.toFixed(2), `≤ ${m.target}`, m.met ? 'yes' : '**no**']);
  }
  const p = results.coldParse;
  if (p !== undefined) {
    rows.push([`cold parse of ${p.index.suite} ${p.index.path} (${p.index.records} records)`, p.runs, fmtMs(p.strataMs), `${fmtMs(p.xzMs)} (xz -dc)`, p.ratio.toFixed(2), `≤ ${p.target}`, p.met ? 'yes' : '**no**']);
    rows.push(['cold parse, WASM xz decoder (information)', p.runs, fmtMs(p.wasm.strataMs), `${fmtMs(p.xzMs)} (xz -dc)`, p.wasm.ratio.toFixed(2), '–', '–']);
  }
  const lines = [table(['measurement', 'runs', 'strata (median)', 'baseline (median)', 'ratio', 'target', 'met'], rows), ''];
  const extra: Array<Array<string | number>> = [];
  const cpu = (s: Series | number | undefined) => (s === undefined ? 'n/a' : `${Math.round(typeof s === 'number' ? s : s.median)} ms`);
  for (const m of results.warmLock?.requests ?? []) {
    extra.push([`warm lock of ${m.request}`, fmtMiB(m.strataMaxRssKiB), `${fmtMiB(m.aptMaxRssKiB)} (apt-get)`, cpu(m.strataCpuMs), `${cpu(m.aptCpuMs)} (apt-get)`]);
  }
  if (p !== undefined) {
    extra.push([`cold parse of ${p.index.path}`, fmtMiB(p.strataMaxRssKiB), '–', `${cpu(p.strataCpuMs)} + xz's`, `${cpu(p.xzCpuMs)} (xz -dc, warm-up run)`]);
  }
  if (extra.length > 0) lines.push(table(['information (medians)', 'strata peak RSS', 'baseline peak RSS', 'strata CPU time', 'baseline CPU time'], extra), '');
  const m = results.machine;
  lines.push(`${results.date.slice(0, 10)}, Node ${m.node}, ${m.cpuModel}, ${m.cores} cores, load average ${m.loadAverage.start} → ${m.loadAverage.end ?? '?'}.`);
  const busyOf = (xs: Array<number | null> | undefined) => {
    const v = (xs ?? []).filter((x): x is number => x !== null);
    return v.length === 0 ? undefined : median(v);
  };
  const busyLock = busyOf(results.warmLock?.busyBeforeRounds);
  const busyParse = busyOf(p?.busyBeforeRounds);
  const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${Math.round(x * 100)}%`);
  if (busyLock !== undefined || busyParse !== undefined) {
    lines.push(`Cores busy with other work just before each round (median): warm lock ${pct(busyLock)}, cold parse ${pct(busyParse)}${results.waitIdle > 0 ? ` (rounds waited up to ${results.waitIdle} s for < ${IDLE_THRESHOLD * 100}%)` : ''}.`);
  }
  // The load average lags by a minute; the busy fraction sampled before each round is better.
  const busy = busyParse !== undefined || busyLock !== undefined ? Math.max(busyParse ?? 0, busyLock ?? 0) >= IDLE_THRESHOLD : m.loadAverage.start >= BUSY_LOAD;
  if (busy) {
    lines.push(
      `**The machine was busy** (1-minute load average ${m.loadAverage.start} at the start, cores ${pct(busyLock)} / ${pct(busyParse)} busy before the rounds): the cold parse uses two cores (xz and the parser) where its baseline uses one, so other work inflates its ratio more than the baseline's; rerun on an idle machine (or with --wait-idle) before reading much into it.`,
    );
  }
  if (results.warmLock?.coldFirstLockMs !== undefined) lines.push(`First (cold) lock, downloading and parsing every index: ${Math.round(results.warmLock.coldFirstLockMs)} ms (one run, information only).`);
  return `${lines.join('\n')}\n`;
}

async function collect(opts: Options, b: Bench) {
  const machine = machineFacts();
  const date = new Date().toISOString();
  const commands = {
    warmLock: 'node dist/src/cli/main.js lock SPEC --update --cache-dir WARM_CACHE --lockfile TMP   (SPEC: packages: [REQUEST], profile: full)',
    apt: `apt-get ${APT_ARGS.join(' ')} REQUEST`,
    xz: 'xz -dc Packages.xz > /dev/null',
    coldParse: 'node dist/bench/lib/parse-child.js Packages.xz main/binary-amd64/Packages.xz WORK   (parseAndCacheIndex of src/debian/archive.ts, timed inside a fresh process)',
    coldParseWasm: 'STRATA_XZ=wasm node dist/bench/lib/parse-child.js ...',
    peakRss: GNU_TIME === undefined ? 'process.resourceUsage().maxRSS in the child' : '/usr/bin/time -f "%M %U %S" (peak RSS, CPU time)',
  };
  let warmLock: Awaited<ReturnType<typeof benchLock>>['result'] | undefined;
  let lockfile: string | undefined;
  if (opts.only !== 'parse') ({ result: warmLock, lockfile } = await benchLock(b, opts));
  const coldParse = opts.only === 'lock' ? undefined : await benchParse(b, opts, lockfile);
  const surveyed = opts.survey ? await survey(b) : undefined;
  endLoad(machine);
  return { benchmark: 'lock', date, machine, waitIdle: opts.waitIdle, commands, warmLock, coldParse, survey: surveyed };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!existsSync(CLI) || !existsSync(PARSE_CHILD)) throw new Error('build first: npm run build');
  const b = new Bench(await mkdtemp(join(tmpdir(), 'strata-bench-lock-')));
  try {
    const results = await collect(opts, b);
    const md = markdown(results);
    process.stdout.write(`\n${md}`);
    if (opts.write) {
      const path = resultsPath('lock');
      await writeResults(path, results, md);
      log(`wrote ${path} and lock.md beside it`);
    }
  } finally {
    if (opts.keep) log(`kept ${b.work}`);
    else await rm(b.work, { recursive: true, force: true });
  }
}

await main();
