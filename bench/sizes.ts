// Sizes of the example images: for each spec in examples/, `strata build --json` from its
// committed lock, summed over each platform's layers (`size`: compressed, as stored and
// pulled; `uncompressedSize`: the layer tars, as unpacked), beside Docker Hub's figures for
// the nearest official images (given, not fetched). Prints the Markdown table; with --write
// it replaces the table between the markers in docs/sizes.md.
//
//   npx tsc -p . && node dist/bench/sizes.js [--cache-dir DIR] [--write]
//
// The cache defaults to the example tests' ($STRATA_TEST_CACHE, else <tmp>/strata-test-cache).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC = join(ROOT, 'docs', 'sizes.md');
const BEGIN = '<!-- sizes:begin (node dist/bench/sizes.js --write) -->';
const END = '<!-- sizes:end -->';

/** Docker Hub's figures (MB, as Docker Hub and `docker images` count: 10^6 bytes), as given. */
const HUB: Record<string, { image: string; compressed?: number; unpacked?: number }> = {
  redis: { image: 'redis:7.2-bookworm', unpacked: 112 },
  python: { image: 'python:3.12-slim-bookworm', compressed: 45.4, unpacked: 124.3 },
  busybox: { image: 'debian:bookworm-slim', compressed: 28.2, unpacked: 74.8 },
};

/** The size targets of the build issue, in MB of compressed layers. */
const TARGETS: Record<string, { limit: number; text: string }> = {
  redis: { limit: 10, text: '≤ 10 MB compressed' },
  python: { limit: 0.45 * 45.4, text: '≤ 45 % of python:3.12-slim-bookworm (20.43 MB) compressed' },
};

interface BuildJson {
  digest: string;
  platforms: Array<{ architecture: string; layers: Array<{ size: number; uncompressedSize: number; packages: string[] }> }>;
}

const MB = (bytes: number) => bytes / 1e6;
const fmt = (mb: number) => mb.toFixed(1);
const pct = (a: number, b: number) => `${Math.round((100 * a) / b)} %`;

function main(): void {
  const args = process.argv.slice(2);
  const i = args.indexOf('--cache-dir');
  const cacheDir = i >= 0 ? args[i + 1]! : process.env.STRATA_TEST_CACHE || join(tmpdir(), 'strata-test-cache');
  const out = mkdtempSync(join(tmpdir(), 'strata-sizes-'));
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.SOURCE_DATE_EPOCH;
  const rows: string[] = [];
  const targets: string[] = [];
  let failed = false;
  try {
    for (const file of readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).sort()) {
      const name = file.replace(/\.yaml$/, '');
      const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'build', join('examples', file), '--cache-dir', cacheDir, '-o', join(out, name), '--json'], { cwd: ROOT, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`examples/${file}: strata build failed\n${r.stderr}`);
      const built = JSON.parse(r.stdout) as BuildJson;
      const lock = JSON.parse(readFileSync(join(ROOT, 'examples', `${name}.lock.json`), 'utf8')) as { architectures: Record<string, { packages: unknown[] }> };
      for (const p of built.platforms) {
        const compressed = MB(p.layers.reduce((n, l) => n + l.size, 0));
        const unpacked = MB(p.layers.reduce((n, l) => n + l.uncompressedSize, 0));
        const hub = HUB[name];
        const vs = (mine: number, theirs?: number) => (theirs === undefined ? '—' : `${fmt(theirs)} (${pct(mine, theirs)})`);
        const largest = [...p.layers]
          .filter((l) => l.packages.length > 0)
          .sort((a, b) => b.size - a.size)
          .slice(0, 3)
          .map((l) => `${l.packages.join('+')} ${fmt(MB(l.size))}`)
          .join(', ');
        rows.push(
          `| ${name}${built.platforms.length > 1 ? ` (${p.architecture})` : ''} | ${lock.architectures[p.architecture]!.packages.length} | ${p.layers.length} | ${fmt(compressed)} | ${fmt(unpacked)} | ` +
            `${largest} | ${hub ? `\`${hub.image}\`` : '—'} | ${vs(compressed, hub?.compressed)} | ${vs(unpacked, hub?.unpacked)} |`,
        );
        const target = TARGETS[name];
        if (target !== undefined) {
          const ok = compressed <= target.limit;
          failed ||= !ok;
          targets.push(`- ${name}: ${fmt(compressed)} MB compressed; target ${target.text}: ${ok ? 'met' : 'NOT MET'}`);
        }
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const table = [
    '| example | packages | layers | compressed MB | unpacked MB | largest layers, compressed MB | Docker Hub counterpart | its compressed MB (strata ÷ it) | its unpacked MB (strata ÷ it) |',
    '|---|---:|---:|---:|---:|---|---|---:|---:|',
    ...rows,
    '',
    'Targets:',
    '',
    ...targets,
  ].join('\n');
  console.log(table);
  if (args.includes('--write')) {
    const doc = readFileSync(DOC, 'utf8');
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`docs/sizes.md has no ${BEGIN} … ${END} markers`);
    writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${table}\n${doc.slice(b)}`);
    console.log('\nwrote docs/sizes.md');
  }
  if (failed) process.exitCode = 1;
}

main();
