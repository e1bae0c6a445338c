#!/usr/bin/env node
// Runs the compiled test suite with Node's built-in runner.
//   node scripts/run-tests.mjs                 every test
//   node scripts/run-tests.mjs --only unit     unit tests beside the code (src/**/*.test.js)
//   node scripts/run-tests.mjs --only integration
//   node scripts/run-tests.mjs FILTER...       files whose path contains a FILTER
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
let only;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--only') only = args[++i];
  else filters.push(args[i]);
}

function walk(dir) {
  const out = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files = [];
if (only === undefined || only === 'unit') files.push(...walk(join(root, 'dist', 'src')));
if (only === undefined || only === 'integration') files.push(...walk(join(root, 'dist', 'test')));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => relative(root, f).includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', `--test-concurrency=${process.env.STRATA_TEST_CONCURRENCY ?? 2}`, ...files],
  { stdio: 'inherit', env: { ...process.env, NO_COLOR: process.env.NO_COLOR ?? '1' } },
);
process.exit(result.status ?? 1);
