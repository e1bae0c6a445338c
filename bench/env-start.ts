// How fast environments start, against baselines measured in the same run on the same image:
//   warm  — a second `strata run examples/python.yaml -- python3 -c pass`, and a second
//           `strata shell git curl -- bash -c :` (the target: ≤ 0.3 s), beside the
//           floor (bwrap alone on the same tree, running the same python) and `podman run --rm`
//           of the same image (the tool users would otherwise pick);
//   cold  — the first start once the image's layers are built (the rootfs cache emptied):
//           unpacking and assembling, beside `umoci unpack --rootless` of the same layout.
// Medians over several runs. Writes bench/results/env-start.json and prints a table; with
// --write it replaces the table between the markers in docs/environments.md.
//
//   npx tsc -p . && node dist/bench/env-start.js [--cache-dir DIR] [--runs N] [--write]
//
// The cache defaults to the example tests' ($STRATA_TEST_CACHE, else <tmp>/strata-test-cache).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DOC = join(ROOT, 'docs', 'environments.md');
const BEGIN = '<!-- env-start:begin (node dist/bench/env-start.js --write) -->';
const END = '<!-- env-start:end -->';

function timed(cmd: string, args: string[], opts: SpawnSyncOptions = {}): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}\n${r.stdout}\n${r.stderr}`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
  const cache = opt('--cache-dir') ?? (process.env.STRATA_TEST_CACHE || join(tmpdir(), 'strata-test-cache'));
  const runs = Number(opt('--runs') ?? 11);
  const env = { ...process.env, NO_COLOR: '1', STRATA_CACHE_DIR: cache };
  const strata = (...a: string[]) => timed(process.execPath, [CLI, ...a], { cwd: ROOT, env });
  const work = mkdtempSync(join(tmpdir(), 'strata-env-bench-'));
  const python = ['run', 'examples/python.yaml', '--', 'python3', '-c', 'pass'];
  const shell = ['shell', 'git', 'curl', '--', 'bash', '-c', ':'];
  try {
    // Everything built and locked once (downloads, layers, the ad-hoc lock of git curl).
    strata(...python);
    strata(...shell);
    const layout = join(work, 'python.oci');
    strata('build', 'examples/python.yaml', '-o', layout);

    // The floor: bwrap alone on the same tree, as strata runs it (user, pid and ipc namespaces,
    // the tree read-only, /proc, /dev, /tmp), without strata's start and checks; and Node's own
    // start. Measured in rounds, one of each per round, so that a busy machine slows all alike.
    const ls = JSON.parse(spawnSync(process.execPath, [CLI, 'cache', 'ls', '--json'], { cwd: ROOT, env, encoding: 'utf8' }).stdout) as { environments: Array<{ path: string; targets: Array<{ name: string }> }> };
    const tree = ls.environments.find((e) => e.targets.some((t) => t.name.endsWith('python.yaml')))!.path;
    const bwrapArgs = ['--unshare-user', '--uid', '10001', '--gid', '10001', '--unshare-pid', '--unshare-ipc', '--die-with-parent', '--ro-bind', tree, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--chdir', '/app', 'python3', '-c', 'pass'];
    const rounds = { warmRun: [] as number[], warmShell: [] as number[], floor: [] as number[], node: [] as number[] };
    for (let i = 0; i < runs; i++) {
      rounds.warmRun.push(strata(...python));
      rounds.warmShell.push(strata(...shell));
      rounds.floor.push(timed('bwrap', bwrapArgs));
      rounds.node.push(timed(process.execPath, ['-e', '0']));
    }
    const warmRun = median(rounds.warmRun);
    const warmShell = median(rounds.warmShell);
    const floor = median(rounds.floor);
    const nodeStart = median(rounds.node);

    // podman run --rm of the same image (loaded once, under a name of its own).
    let podman: number | undefined;
    const image = `localhost/strata-bench/python:${process.pid}`;
    const copied = spawnSync('skopeo', ['copy', `oci:${layout}:latest`, `containers-storage:${image}`], { encoding: 'utf8' });
    if (copied.status === 0) {
      // The image's entrypoint is python3: docker semantics append the arguments to it.
      const podmanArgs = ['run', '--rm', '--runtime', 'runc', '--network=none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', image, '-c', 'pass'];
      try {
        timed('podman', podmanArgs);
        podman = median(Array.from({ length: Math.max(3, Math.ceil(runs / 2)) }, () => timed('podman', podmanArgs)));
      } finally {
        spawnSync('podman', ['rmi', '-f', image]);
      }
    }

    // Cold: the rootfs cache emptied, the layers' blobs still in the cache.
    const cold: number[] = [];
    const umoci: number[] = [];
    for (let i = 0; i < 3; i++) {
      rmSync(join(cache, 'rootfs'), { recursive: true, force: true });
      cold.push(strata(...python));
      const bundle = join(work, `bundle-${i}`);
      umoci.push(timed('umoci', ['unpack', '--rootless', '--image', `${layout}:latest`, bundle]));
      rmSync(bundle, { recursive: true, force: true });
    }
    const coldRun = median(cold);
    const umociUnpack = median(umoci);

    const results = {
      runs,
      loadAverage: loadavg(),
      seconds: { warmRun, warmShell, bwrapFloor: floor, nodeStart, podmanRun: podman ?? null, coldRun, umociUnpack },
      ratios: { warmRunOverFloorPlusNode: warmRun / (floor + nodeStart), warmRunOverPodman: podman === undefined ? null : warmRun / podman, coldOverUmoci: coldRun / umociUnpack },
      target: { warmShellSeconds: 0.3, met: warmShell <= 0.3 },
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'env-start.json'), `${JSON.stringify(results, null, 2)}\n`);
    const f = (s: number) => `${s.toFixed(3)} s`;
    const table = [
      `Medians of ${runs} runs (cold: 3) on one machine (load average ${loadavg().map((l) => l.toFixed(1)).join(', ')}), one run of \`node dist/bench/env-start.js\`:`,
      '',
      '| what | strata | baseline | ratio |',
      '|---|---:|---:|---:|',
      `| second \`strata shell git curl -- bash -c :\` | ${f(warmShell)} | target ≤ 0.300 s | ${warmShell <= 0.3 ? 'met' : 'NOT MET'} |`,
      `| second \`strata run examples/python.yaml -- python3 -c pass\` | ${f(warmRun)} | bwrap alone on the same tree (${f(floor)}) + \`node -e 0\` (${f(nodeStart)}): ${f(floor + nodeStart)} | ${(warmRun / (floor + nodeStart)).toFixed(2)} |`,
      `| the same | ${f(warmRun)} | \`podman run --rm\` of the same image: ${podman === undefined ? 'not measured' : f(podman)} | ${podman === undefined ? '—' : (warmRun / podman).toFixed(2)} |`,
      `| first start, layers built, rootfs cache empty (unpack + assemble + run) | ${f(coldRun)} | \`umoci unpack --rootless\` of the same layout: ${f(umociUnpack)} | ${(coldRun / umociUnpack).toFixed(2)} |`,
    ].join('\n');
    console.log(table);
    if (args.includes('--write')) {
      const doc = readFileSync(DOC, 'utf8');
      const a = doc.indexOf(BEGIN);
      const b = doc.indexOf(END);
      if (a < 0 || b < a) throw new Error(`docs/environments.md has no ${BEGIN} … ${END} markers`);
      writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${table}\n${doc.slice(b)}`);
      console.log('\nwrote docs/environments.md');
    }
    if (warmShell > 0.3) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
