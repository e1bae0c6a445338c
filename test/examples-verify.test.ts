// `strata verify` passes for every example under every perturbation (the control, the
// experiment varying them all, the warm cache), and the digest it proves is the example's
// golden one. Uses the real Debian mirror of the host's apt sources through the example
// tests' shared cache ($STRATA_TEST_CACHE, else <tmp>/strata-test-cache).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { EXAMPLES_DIR, GOLDEN_FILE, testCacheDir } from './helpers/examples.js';
import type { VerifyReport } from '../src/verify/verify.js';

let golden: Record<string, string>;
let names: string[];

before(async () => {
  golden = JSON.parse(await readFile(GOLDEN_FILE, 'utf8')) as Record<string, string>;
  names = (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();
});

test('every example verifies under every perturbation, to its golden digest', async (t) => {
  assert.ok(names.length >= 6);
  for (const name of names) {
    await t.test(`examples/${name}.yaml`, async () => {
      const r = await runCli(['verify', join('examples', `${name}.yaml`), '--json', '--cache-dir', testCacheDir()]);
      assert.ok(r.stdout.trim().startsWith('{'), `no report (exit ${r.code})\n${r.stderr}`);
      const report = JSON.parse(r.stdout) as VerifyReport;
      assert.equal(r.code, 0, `examples/${name}.yaml is not reproducible:\n${JSON.stringify(report.differences.slice(0, 5), null, 1)}\n${r.stderr}`);
      assert.equal(report.reproducible, true);
      assert.deepEqual(report.rebuilds.map((b) => [b.name, b.identical]), [['experiment', true], ['warm cache', true]]);
      if (process.env.SOURCE_DATE_EPOCH === undefined) assert.equal(report.digest, golden[name], `the verified digest of examples/${name}.yaml is not its golden digest`);
    });
  }
});
