// Benchmark: `strata verify SPEC` with the default perturbations against the baseline the
// issue names — one cold build of the same spec, measured in the same run, interleaved:
//   cold build   `strata build SPEC` in its own process, from a fresh cache holding only the
//                verified .debs (hard links), as each of verify's rebuilds starts: every
//                layer decompressed, scanned, written and compressed
//   cold+fetch   the same from an empty cache (downloads from the host's mirror; once, for
//                reference: the network varies)
//   verify       `strata verify SPEC` (control, experiment varying all, warm cache; the .debs
//                already in the cache, as after any build)
// The target: verify ≤ 3 × cold build. Writes bench/results/verify.json and verify.md.
//
//   npx tsc -p . && node dist/bench/verify.js [--spec examples/python.yaml] [--runs 5] [--cache-dir DIR] [--no-fetch]
import { spawn } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function timed(argv: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { spec: { type: 'string' }, runs: { type: 'string' }, 'cache-dir': { type: 'string' }, 'no-fetch': { type: 'boolean' } } });
  const spec = values.spec ?? 'examples/python.yaml';
  const runs = Number(values.runs ?? 5);
  const cacheDir = values['cache-dir'] ?? (process.env.STRATA_TEST_CACHE || join(tmpdir(), 'strata-test-cache'));
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.SOURCE_DATE_EPOCH;
  await mkdir(join(cacheDir, 'tmp'), { recursive: true });
  const work = await mkdtemp(join(cacheDir, 'tmp', 'bench-verify-')); // the cache's file system: hard links work
  const lockPath = join(ROOT, spec.replace(/\.ya?ml$/, '.lock.json'));
  const lock = JSON.parse(await readFile(lockPath, 'utf8')) as { architectures: Record<string, { packages: Array<{ sha256: string }> }> };
  const hexes = [...new Set(Object.values(lock.architectures).flatMap((c) => c.packages.map((p) => p.sha256)))];
  // The .debs in the cache first (what verify's own first step does), so no run downloads.
  const fetched = await timed([process.execPath, CLI, 'fetch', spec, '--cache-dir', cacheDir], env);
  if (fetched.code !== 0) throw new Error(`strata fetch failed\n${fetched.stderr}`);

  const cold: number[] = [];
  const verify: number[] = [];
  let digest = '';
  try {
    for (let i = 0; i < runs; i++) {
      const seeded = join(work, `seed-${i}`);
      await mkdir(join(seeded, 'blobs', 'sha256'), { recursive: true });
      for (const h of hexes) await link(join(cacheDir, 'blobs', 'sha256', h), join(seeded, 'blobs', 'sha256', h));
      const b = await timed([process.execPath, CLI, 'build', spec, '-o', join(work, `out-${i}.oci`), '--json', '--cache-dir', seeded], env);
      if (b.code !== 0) throw new Error(`strata build failed\n${b.stderr}`);
      cold.push(b.ms);
      digest = (JSON.parse(b.stdout) as { digest: string }).digest;
      await rm(seeded, { recursive: true, force: true });
      const v = await timed([process.execPath, CLI, 'verify', spec, '--json', '--cache-dir', cacheDir], env);
      if (v.code !== 0) throw new Error(`strata verify failed (exit ${v.code})\n${v.stderr}`);
      const report = JSON.parse(v.stdout) as { digest: string; reproducible: boolean };
      if (!report.reproducible || report.digest !== digest) throw new Error('verify disagrees with the build');
      verify.push(v.ms);
      process.stderr.write(`run ${i + 1}/${runs}: cold build ${(b.ms / 1000).toFixed(2)} s, verify ${(v.ms / 1000).toFixed(2)} s\n`);
    }
    let coldFetch: number | undefined;
    if (!values['no-fetch']) {
      const empty = join(work, 'empty');
      const b = await timed([process.execPath, CLI, 'build', spec, '-o', join(work, 'out-fetch.oci'), '--json', '--cache-dir', empty], env);
      if (b.code === 0) coldFetch = b.ms;
    }
    const ratio = median(verify) / median(cold);
    // Each verify beside the build just before it: robust to the load drifting during the run.
    const paired = median(verify.map((v, i) => v / cold[i]!));
    const result = {
      benchmark: 'verify',
      spec,
      digest,
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, load: loadavg().map((x) => round(x)) },
      runs,
      coldBuildMs: { runs: cold.map((x) => Math.round(x)), median: Math.round(median(cold)) },
      verifyMs: { runs: verify.map((x) => Math.round(x)), median: Math.round(median(verify)) },
      ...(coldFetch !== undefined ? { coldBuildWithFetchMs: Math.round(coldFetch) } : {}),
      ratio: round(ratio),
      pairedRatioMedian: round(paired),
      target: 3,
      met: ratio <= 3,
    };
    const table = [
      `# strata verify ${spec}: default perturbations vs one cold build`,
      '',
      `${result.machine.cpus} CPUs (${result.machine.model}), Node ${result.machine.node}, ${runs} interleaved runs, medians.`,
      '',
      '| measured | median | runs |',
      '|---|---|---|',
      `| one cold build (fresh cache with only the .debs) | ${(median(cold) / 1000).toFixed(2)} s | ${cold.map((x) => (x / 1000).toFixed(2)).join(', ')} |`,
      `| strata verify (control ∥ experiment, then warm cache) | ${(median(verify) / 1000).toFixed(2)} s | ${verify.map((x) => (x / 1000).toFixed(2)).join(', ')} |`,
      ...(coldFetch !== undefined ? [`| one cold build from an empty cache (downloads; once) | ${(coldFetch / 1000).toFixed(2)} s | |`] : []),
      '',
      `verify / cold build = **${ratio.toFixed(2)}×** (medians; the median of the ${runs} paired ratios is ${paired.toFixed(2)}×; target ≤ 3×: ${ratio <= 3 ? 'met' : 'NOT met'})`,
      `Load average at the end: ${result.machine.load.join(', ')} (the machine is shared; each verify ran right after its baseline build).`,
      '',
    ].join('\n');
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(join(ROOT, 'bench', 'results', 'verify.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(ROOT, 'bench', 'results', 'verify.md'), table);
    process.stdout.write(table);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
