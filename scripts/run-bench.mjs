#!/usr/bin/env node
// Runs the compiled benchmarks (`npm run bench` builds first). A benchmark entry is a
// top-level file of bench/ (dist/bench/NAME.js); bench/lib/ holds their shared pieces.
//   node scripts/run-bench.mjs                  every benchmark
//   node scripts/run-bench.mjs lock ...         only those named
//   node scripts/run-bench.mjs lock -- --runs 9 options after -- go to each benchmark
// Each benchmark writes its results to bench/results/NAME.json and NAME.md (see
// docs/performance.md). Benchmarks are never part of the tests: timings depend on the machine.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'dist', 'bench');
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const names = (dash < 0 ? args : args.slice(0, dash)).map((n) => n.replace(/\.(ts|js)$/, ''));
const passOn = dash < 0 ? [] : args.slice(dash + 1);

if (!existsSync(dir)) {
  console.error('no dist/bench: build first (npm run build)');
  process.exit(1);
}
const available = readdirSync(dir)
  .filter((n) => n.endsWith('.js'))
  .map((n) => n.slice(0, -3))
  .sort();
const unknown = names.filter((n) => !available.includes(n));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; there are: ${available.join(', ') || 'none'}`);
  process.exit(2);
}
const chosen = names.length > 0 ? names : available;
let failed = 0;
for (const name of chosen) {
  console.log(`\n## ${name}\n`);
  const result = spawnSync(process.execPath, [join(dir, `${name}.js`), ...passOn], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) {
    console.error(`benchmark ${name} failed (exit ${result.status ?? result.signal})`);
    failed++;
  }
}
process.exit(failed > 0 ? 1 : 0);
