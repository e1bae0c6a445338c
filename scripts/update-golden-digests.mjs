#!/usr/bin/env node
// Rewrites test/golden-digests.json: the image digest `strata build --json` prints for each
// spec in examples/, built from its committed lockfile. Run it after `strata lock` changed a
// lock, or after a strata change that alters image bytes, and commit the locks and this file
// together (docs/examples.md).
//   node scripts/update-golden-digests.mjs [--cache-dir DIR]
// The cache defaults to the example tests' ($STRATA_TEST_CACHE, else <tmp>/strata-test-cache).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const i = args.indexOf('--cache-dir');
const cacheDir = i >= 0 ? args[i + 1] : process.env.STRATA_TEST_CACHE || join(tmpdir(), 'strata-test-cache');
const out = mkdtempSync(join(tmpdir(), 'strata-golden-'));
// The golden digests are of the default build: the epoch comes from the lock, not the shell.
const env = { ...process.env, NO_COLOR: '1' };
delete env.SOURCE_DATE_EPOCH;

const digests = {};
try {
  for (const file of readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).sort()) {
    const name = file.replace(/\.yaml$/, '');
    const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'build', join('examples', file), '--cache-dir', cacheDir, '-o', join(out, `${name}.oci`), '--json'], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      process.stderr.write(`examples/${file}: strata build failed\n${r.stderr}`);
      process.exit(1);
    }
    digests[name] = JSON.parse(r.stdout).digest;
    console.log(`${name}\t${digests[name]}`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
writeFileSync(join(root, 'test', 'golden-digests.json'), `${JSON.stringify(digests, null, 2)}\n`);
console.log('wrote test/golden-digests.json');
