// Acceptance test against the real archive, through the host's apt sources: for each request
// of REQUESTS, the `profile: full` closure is installable on its own (dose-distcheck over a
// Packages file holding just the closure) and no larger than what
// `apt-get install -s --no-install-recommends` installs for the same request; the
// `profile: slim` closure is smaller whenever there is something to leave out, every package
// it leaves out is accounted for, and it is installable once the left-out packages count as
// present. See test/support/real-archive.ts for how each check is made.
//
// Needs the network to the host's configured mirror and the tools dose-distcheck (Debian
// package dose-distcheck), apt-get and xz. Without the tools the test is skipped, except
// under CI=true, where it fails so that a missing install step cannot hide. Index downloads
// are cached in $STRATA_TEST_CACHE (default: strata-test-cache in the OS temp folder).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUESTS, missingTools, runClosureChecks, testCacheRoot, type RunResult } from './support/real-archive.js';

const missing = missingTools();
const skip = missing.length > 0 && process.env.CI !== 'true' ? `needs ${missing.join(', ')} on PATH (apt-get install dose-distcheck)` : false;

describe('closures against the real archive', { skip, timeout: 15 * 60_000 }, () => {
  let result: RunResult;

  before(async () => {
    assert.deepEqual(missing, [], `missing tools: ${missing.join(', ')}; install them with apt-get install -y dose-distcheck`);
    result = await runClosureChecks({ cacheRoot: testCacheRoot() });
    const t = result.timings;
    console.log(`# locked ${REQUESTS.length * 2} specs in ${(t.lockMs / 1000).toFixed(1)} s, checked them in ${(t.checkMs / 1000).toFixed(1)} s`);
  });

  test('at least 20 real requests are compared', () => {
    assert.ok(REQUESTS.length >= 20);
    assert.equal(result.outcomes.length, REQUESTS.length);
  });

  for (const [i, request] of REQUESTS.entries()) {
    test(`${request.label}: full installable and within apt's, slim smaller and accounted for`, () => {
      const o = result.outcomes[i]!;
      assert.equal(o.request, request);
      assert.deepEqual(o.problems, [], `${request.label}:\n${o.problems.join('\n')}`);
      assert.ok(o.full.packages.length <= o.apt.length);
      assert.ok(o.slim.packages.length <= o.full.packages.length);
    });
  }
});
