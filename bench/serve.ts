// Benchmark of `strata serve` on loopback (docs/serve.md, "Performance"), one run:
//   1. first pull of a new 20-package combination whose packages are cached (each was pulled
//      on its own before) but never built together: time until the manifest is ready, beside
//      the same pull from a server whose cache holds only the .debs (no layers, no facts);
//   2. cached manifest GET and HEAD: p99 latency with ab at 64 connections, beside a bare
//      node:http server sending the same bytes (the floor) and Debian's docker-registry serving
//      the same manifest from its own store;
//   3. blob GET throughput of the largest layer, beside docker-registry serving the same blob
//      (pushed there with skopeo), rounds alternating, median of 3;
//   4. peak memory (VmHWM) of a freshly started server under 500 concurrent mixed requests of
//      cached manifests and blobs, and of the server over the whole run.
// The servers run as child processes (`strata serve`, `docker-registry serve`), wrk is a third.
// Packages come from the host's apt sources; the cache persists ($STRATA_TEST_CACHE, else
// <tmp>/strata-test-cache, or --cache-dir), so only the first run downloads.
//
//   npx tsc -p . && node dist/bench/serve.js [--cache-dir DIR] [--seconds N]
import { spawn, type ChildProcess } from 'node:child_process';
import { link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const OCI = 'application/vnd.oci.image.manifest.v1+json';

/** Twenty packages of different kinds; each is pulled alone first, then all together. */
export const COMBINATION = [
  'bash', 'ca-certificates', 'coreutils', 'curl', 'findutils', 'git', 'gzip', 'iproute2', 'jq', 'less',
  'nginx', 'openssh-client', 'perl', 'procps', 'python3', 'redis-server', 'sed', 'tar', 'wget', 'xz-utils',
];

const { values: args } = parseArgs({ options: { 'cache-dir': { type: 'string' }, seconds: { type: 'string' } } });
const cacheDir = args['cache-dir'] ?? process.env.STRATA_TEST_CACHE ?? join(tmpdir(), 'strata-test-cache');
const seconds = Number(args.seconds ?? 10);

interface Server {
  child: ChildProcess;
  url: string;
  host: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startStrata(store: string, cache: string, logFile: string): Promise<Server> {
  await writeFile(logFile, '');
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--store', store, '--cache-dir', cache], { stdio: ['ignore', out, 'ignore'] });
  for (let i = 0; i < 1200; i++) {
    const text = await readFile(logFile, 'utf8');
    const line = text.split('\n').find((l) => l.includes('"event":"listening"'));
    if (line !== undefined) {
      const url = (JSON.parse(line) as { url: string }).url;
      return { child, url, host: url.replace('http://', ''), stop: () => stop(child) };
    }
    if (child.exitCode !== null) throw new Error(`strata serve exited with ${child.exitCode}: ${text}`);
    await sleep(100);
  }
  throw new Error('strata serve did not start in 120 s');
}

/** bench/bare-server.ts answering with the manifest's bytes: what node:http alone costs. */
async function startFloor(dir: string, bytes: Buffer, digest: string): Promise<Server> {
  const file = join(dir, 'manifest.json');
  await writeFile(file, bytes);
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'bench', 'bare-server.js'), file, OCI, digest], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (c: Buffer) => resolve(c.toString().trim()));
    child.once('exit', (code) => reject(new Error(`bare-server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return { child, url, host: url.replace('http://', ''), stop: () => stop(child) };
}

async function startDockerRegistry(dir: string): Promise<Server> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const config = join(dir, 'config.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if ((await get(url, '/v2/').catch(() => undefined))?.status === 200) return { child, url, host: url.replace('http://', ''), stop: () => stop(child) };
    await sleep(100);
  }
  throw new Error('docker-registry did not start');
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function get(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function manifest(s: Server, name: string): Promise<{ digest: string; ms: number; layers: Array<{ digest: string; size: number }> }> {
  const t = performance.now();
  const r = await get(s.url, `/v2/${name}/manifests/latest`, { accept: OCI });
  const ms = performance.now() - t;
  if (r.status !== 200) throw new Error(`${name}: ${r.status} ${r.body.toString()}`);
  return { digest: r.headers['docker-content-digest'] as string, ms, layers: (JSON.parse(r.body.toString()) as { layers: Array<{ digest: string; size: number }> }).layers };
}

function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${argv.join(' ')}: exit ${code}\n${err}`))));
  });
}

interface Wrk {
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

function toMs(v: string): number {
  const m = /^([0-9.]+)(us|ms|s)$/.exec(v.trim());
  if (m === null) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

async function wrk(url: string, opts: { connections: number; seconds: number }): Promise<Wrk> {
  const argv = ['-t2', `-c${opts.connections}`, `-d${opts.seconds}s`, '--timeout', '30s', '--latency'];
  const out = await run('wrk', [...argv, url]);
  const pct = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + (/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1).reduce((n, x) => n + Number(x), 0) ?? 0);
  return { requestsPerSecond: Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1]), p50ms: pct('50'), p99ms: pct('99'), errors };
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** A cache holding only the downloaded files (hard links): no parsed indexes, facts or layers. */
async function debsOnlyCache(from: string, to: string): Promise<void> {
  for (const dir of ['blobs/sha256', 'index', 'verified']) {
    await mkdir(join(to, dir), { recursive: true });
    for (const name of await readdir(join(from, dir)).catch(() => [] as string[])) await link(join(from, dir, name), join(to, dir, name));
  }
}

/**
 * ApacheBench at 64 connections with keep-alive: wrk cannot send HEAD (its parser then waits
 * for a body), ab can, and its CSV gives every percentile to the microsecond.
 */
async function ab(url: string, opts: { method: string; accept: string; seconds: number }): Promise<Wrk> {
  const csv = join(tmpdir(), `strata-ab-${process.pid}.csv`);
  const argv = ['-k', '-c64', `-t${opts.seconds}`, '-n10000000', '-H', `Accept: ${opts.accept}`, '-e', csv, ...(opts.method === 'HEAD' ? ['-i'] : []), url];
  const out = await run('ab', argv);
  const rows = (await readFile(csv, 'utf8')).split('\n').slice(1).filter(Boolean).map((l) => l.split(',').map(Number));
  const at = (p: number) => rows.find((r) => r[0] === p)?.[1] ?? NaN;
  const failed = Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Non-2xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { requestsPerSecond: Number(/Requests per second:\s+([0-9.]+)/.exec(out)?.[1]), p50ms: at(50), p99ms: at(99), errors: failed };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'strata-bench-serve-'));
  const results: Record<string, unknown> = { date: new Date().toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, seconds, loadAverageAtStart: loadavg()[0] };
  const servers: Server[] = [];
  try {
    // 1. Each package on its own, then the combination, on a cache that starts with only the
    //    downloaded files: whatever earlier runs built, the combination is new to it.
    await debsOnlyCache(cacheDir, join(work, 'cache'));
    let strata = await startStrata(join(work, 'store'), join(work, 'cache'), join(work, 'strata.log'));
    servers.push(strata);
    for (const p of COMBINATION) await manifest(strata, p);
    const name = [...COMBINATION].reverse().join('/');
    const first = await manifest(strata, name);
    const log = (await readFile(join(work, 'strata.log'), 'utf8')).split('\n').filter((l) => l.includes('"build-done"')).map((l) => JSON.parse(l) as { name: string; ms: number; layers: number; cachedLayers: number; packages: number });
    const done = log[log.length - 1]!;
    const second = await manifest(strata, name);
    // From the first server's cache: it now holds every .deb, also when the given cache was empty.
    await debsOnlyCache(join(work, 'cache'), join(work, 'cache-cold'));
    const coldServer = await startStrata(join(work, 'store-cold'), join(work, 'cache-cold'), join(work, 'cold.log'));
    servers.push(coldServer);
    const coldPull = await manifest(coldServer, name);
    await coldServer.stop();
    results.firstPull = {
      packagesNamed: COMBINATION.length,
      closurePackages: done.packages,
      layers: done.layers,
      cachedLayers: done.cachedLayers,
      manifestReadyMs: Math.round(first.ms),
      buildMs: done.ms,
      cachedPullMs: Math.round(second.ms * 100) / 100,
      debsOnlyCacheMs: Math.round(coldPull.ms),
      ratioToDebsOnly: Math.round((first.ms / coldPull.ms) * 1000) / 1000,
      sameDigest: coldPull.digest === first.digest,
      target: 'manifest ready ≤ 2000 ms',
    };

    // 2 and 3. docker-registry with the same image, pushed by skopeo.
    const registry = await startDockerRegistry(await mkdtemp(join(work, 'registry-')));
    servers.push(registry);
    await run('skopeo', ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${strata.host}/${name}:latest`, `docker://${registry.host}/combo:latest`]);
    const theirs = await get(registry.url, '/v2/combo/manifests/latest', { accept: OCI });
    if (theirs.headers['docker-content-digest'] !== first.digest) throw new Error(`docker-registry holds ${theirs.headers['docker-content-digest']}, not ${first.digest}`);
    const wrkSeconds = Math.max(3, seconds);
    // Rounds alternate strata, the floor (a bare node:http server sending the same bytes) and
    // docker-registry; the median of each is reported (the machines are shared: one round can
    // land on a busy moment).
    const floor = await startFloor(work, theirs.body, first.digest);
    servers.push(floor);
    const latency: Record<string, unknown> = {};
    for (const method of ['GET', 'HEAD']) {
      await ab(`${strata.url}/v2/${name}/manifests/latest`, { method, accept: OCI, seconds: 2 }); // warm-up
      const ours: Wrk[] = [];
      const bare: Wrk[] = [];
      const base: Wrk[] = [];
      for (let round = 0; round < 3; round++) {
        ours.push(await ab(`${strata.url}/v2/${name}/manifests/latest`, { method, accept: OCI, seconds: wrkSeconds }));
        bare.push(await ab(`${floor.url}/v2/${name}/manifests/latest`, { method, accept: OCI, seconds: wrkSeconds }));
        base.push(await ab(`${registry.url}/v2/combo/manifests/latest`, { method, accept: OCI, seconds: Math.ceil(wrkSeconds / 2) }));
      }
      const mid = (xs: Wrk[]): Wrk => ({ requestsPerSecond: median(xs.map((x) => x.requestsPerSecond)), p50ms: median(xs.map((x) => x.p50ms)), p99ms: median(xs.map((x) => x.p99ms)), errors: xs.reduce((n, x) => n + x.errors, 0) });
      latency[method] = { strata: mid(ours), floor: mid(bare), dockerRegistry: mid(base), strataRounds: ours, floorRounds: bare, dockerRegistryRounds: base, target: 'strata p99 ≤ 5 ms (median of 3 rounds)' };
    }
    await floor.stop();
    results.manifestLatency = latency;
    const biggest = first.layers.reduce((a, b) => (b.size > a.size ? b : a));
    const rounds: Array<{ strataMBps: number; registryMBps: number; strataErrors: number; registryErrors: number }> = [];
    for (let i = 0; i < 3; i++) {
      const ours = await wrk(`${strata.url}/v2/${name}/blobs/${biggest.digest}`, { connections: 8, seconds: wrkSeconds });
      const base = await wrk(`${registry.url}/v2/combo/blobs/${biggest.digest}`, { connections: 8, seconds: wrkSeconds });
      rounds.push({ strataMBps: (ours.requestsPerSecond * biggest.size) / 1e6, registryMBps: (base.requestsPerSecond * biggest.size) / 1e6, strataErrors: ours.errors, registryErrors: base.errors });
    }
    results.blobThroughput = {
      blobBytes: biggest.size,
      connections: 8,
      rounds,
      strataMBps: Math.round(median(rounds.map((r) => r.strataMBps))),
      dockerRegistryMBps: Math.round(median(rounds.map((r) => r.registryMBps))),
      ratio: Math.round(median(rounds.map((r) => r.strataMBps / r.registryMBps)) * 1000) / 1000,
      target: 'ratio ≥ 0.9',
    };
    const wholeRunPeak = await peakRssMb(strata.child.pid!);

    // 4. A fresh server on the same store, then 500 concurrent mixed requests.
    await strata.stop();
    strata = await startStrata(join(work, 'store'), join(work, 'cache'), join(work, 'strata2.log'));
    servers.push(strata);
    const startedRss = await peakRssMb(strata.child.pid!);
    const targets: Array<{ path: string; accept?: string }> = [];
    for (const p of [...COMBINATION.slice(0, 6), name]) {
      const m = await manifest(strata, p);
      targets.push({ path: `/v2/${p}/manifests/latest`, accept: OCI });
      for (const l of m.layers) targets.push({ path: `/v2/${p}/blobs/${l.digest}` });
    }
    const load = Array.from({ length: 500 }, (_, i) => targets[(i * 7) % targets.length]!);
    const t = performance.now();
    const replies = await Promise.all(load.map((x) => get(strata.url, x.path, x.accept ? { accept: x.accept } : {})));
    const loadMs = performance.now() - t;
    results.memory = {
      requests: load.length,
      failed: replies.filter((r) => r.status !== 200).length,
      bytes: replies.reduce((n, r) => n + r.body.length, 0),
      loadMs: Math.round(loadMs),
      startedPeakMb: Math.round(startedRss),
      peakMbUnder500: Math.round(await peakRssMb(strata.child.pid!)),
      wholeRunPeakMb: Math.round(wholeRunPeak),
      target: 'peak ≤ 300 MB under the 500-request load',
    };
    results.loadAverageAtEnd = loadavg()[0];
  } catch (e) {
    process.stderr.write(`bench/serve failed; results so far:\n${JSON.stringify(results, null, 2)}\n`);
    throw e;
  } finally {
    for (const s of servers) await s.stop();
    agent.destroy();
    await rm(work, { recursive: true, force: true });
  }
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'serve.json'), `${JSON.stringify(results, null, 2)}\n`);
  const fp = results.firstPull as Record<string, number | boolean>;
  const lat = results.manifestLatency as Record<string, { strata: Wrk; floor: Wrk; dockerRegistry: Wrk }>;
  const bt = results.blobThroughput as Record<string, number>;
  const mem = results.memory as Record<string, number>;
  console.log(`load average ${results.loadAverageAtStart} at the start, ${results.loadAverageAtEnd} at the end (${results.cpus} CPUs)\n`);
  console.log('| measure | strata | baseline | target |');
  console.log('|---|---|---|---|');
  console.log(`| first pull of ${fp.packagesNamed} cached packages never built together (${fp.closurePackages} in the closure, ${fp.cachedLayers}/${fp.layers} layers cached) | ${fp.manifestReadyMs} ms | ${fp.debsOnlyCacheMs} ms with only the .debs cached | ≤ 2000 ms |`);
  const row = (w: Wrk) => `${w.p99ms} ms (${w.p50ms} ms, ${Math.round(w.requestsPerSecond)})`;
  for (const m of ['GET', 'HEAD']) console.log(`| cached manifest ${m}, 64 connections, median of 3 rounds: p99 (p50, req/s) | ${row(lat[m]!.strata)} | bare node:http ${row(lat[m]!.floor)}; docker-registry ${row(lat[m]!.dockerRegistry)} | ≤ 5 ms |`);
  console.log(`| blob GET, ${(bt.blobBytes! / 1e6).toFixed(1)} MB layer, 8 connections | ${bt.strataMBps} MB/s | docker-registry ${bt.dockerRegistryMBps} MB/s (ratio ${bt.ratio}) | ≥ 0.9 |`);
  console.log(`| peak memory under ${mem.requests} concurrent mixed requests (${mem.failed} failed) | ${mem.peakMbUnder500} MB (${mem.startedPeakMb} MB at start; ${mem.wholeRunPeakMb} MB over the build phase and wrk) | | ≤ 300 MB |`);
}

await main();
