// Temporary directories for tests, removed when the test ends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export async function tempDir(t: { after: TestContext['after'] } | undefined, label = 'strata-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), label));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
