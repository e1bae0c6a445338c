// Environments of the examples, from their committed locks and the real Debian mirror of the
// host's apt sources (the downloads are shared with the example tests' cache): Python with
// requests answers with the locked version, its streams and exit code pass through; Redis's
// entrypoint takes arguments; a spec without a shell gets bash for `strata shell`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, type CliResult } from './helpers/cli.js';
import { EXAMPLES_DIR, testCacheDir } from './helpers/examples.js';

const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const strata = (args: string[], input = '') => runCli([...args, '--cache-dir', testCacheDir()], { input });

async function lockedVersion(example: string, pkg: string): Promise<string> {
  const lock = JSON.parse(await readFile(join(EXAMPLES_DIR, `${example}.lock.json`), 'utf8')) as { architectures: { amd64: { packages: Array<{ name: string; version: string }> } } };
  return lock.architectures.amd64.packages.find((p) => p.name === pkg)!.version;
}

test("strata run examples/python.yaml -- python3 -c 'import requests; …' prints the locked version", async () => {
  const locked = await lockedVersion('python', 'python3-requests'); // e.g. 2.28.1+dfsg-1
  const upstream = locked.replace(/^[0-9]+:/, '').replace(/[+~-].*$/, '');
  const r = await strata(['run', 'examples/python.yaml', '--', 'python3', '-c', 'import requests; print(requests.__version__)']);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout.trim(), upstream);
});

test('stdin and the exit code pass through python, which runs as the image\'s user in its workdir', async () => {
  const r = await strata(['run', 'examples/python.yaml', '--', 'python3', '-c', 'import os, sys; print(sys.stdin.read().upper(), os.getuid(), os.getcwd()); sys.exit(9)'], 'piped in');
  assert.equal(r.code, 9, show(r));
  assert.equal(r.stdout, 'PIPED IN 10001 /app\n');
});

test("strata run examples/redis.yaml --args -- --version runs the image's entrypoint with the arguments", async () => {
  const r = await strata(['run', 'examples/redis.yaml', '--args', '--', '--version']);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^Redis server v=7\./);
});

test('strata run examples/git.yaml runs git as the image\'s user in its own 0750 home (owners do not lock it out)', async () => {
  const r = await strata(['run', 'examples/git.yaml']);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^git version 2\./);
  const home = await strata(['run', 'examples/git.yaml', '--', 'git', 'config', '--global', '--list']);
  assert.notEqual(home.code, 127, show(home));
  assert.doesNotMatch(home.stderr, /Permission denied/, show(home));
});

test('strata shell examples/python.yaml adds bash to a closure without a shell, and python runs from it', async () => {
  const r = await strata(['shell', 'examples/python.yaml', '--', 'bash', '-c', 'python3 -c "import requests" && echo "ok $SHELL"']);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^ok \/usr\/bin\/bash$/m);
  const lock = await strata(['shell', 'examples/python.yaml', '--print-lock']);
  const names = (JSON.parse(lock.stdout) as { architectures: { amd64: { packages: Array<{ name: string; version: string }> } } }).architectures.amd64.packages.map((p) => p.name);
  assert.ok(names.includes('bash') && names.includes('python3-requests'), show(lock));
  const spec = JSON.parse(await readFile(join(EXAMPLES_DIR, 'python.lock.json'), 'utf8')) as { architectures: { amd64: { packages: Array<{ name: string; version: string }> } } };
  for (const p of spec.architectures.amd64.packages) assert.ok(lock.stdout.includes(`"version": "${p.version}"`), `${p.name} keeps its locked version`);
});
