// `strata serve` as a user runs it: a child process with a config file, JSON log lines on
// stdout (the first says where it listens), a pull, and a clean stop on SIGTERM; bad
// configurations and flags exit with their codes before anything listens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, runCli } from './helpers/cli.js';
import { makeServeWorld, raw, type ServeWorld } from './helpers/serve-fixture.js';

let world: ServeWorld;

before(async () => {
  world = await makeServeWorld();
});
after(async () => {
  await world?.mirror.close();
  if (world) await rm(world.work, { recursive: true, force: true });
});

test('serve: JSON log lines, a pull, and a clean stop on SIGTERM', async () => {
  const config = join(world.work, 'serve.yaml');
  await writeFile(config, `listen: 127.0.0.1:0\nstore: store\nsource:\n  mirror: ${world.mirror.url}\n  suites: [fixture, fixture-updates]\n  keyring: ${world.archive.keyring}\nrefresh: 0\n`);
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--cache-dir', world.cacheDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const line = stdout.split('\n').find((l) => l.includes('"event":"listening"'));
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  try {
    const r = await raw(url, '/v2/fixapp/manifests/latest');
    assert.equal(r.status, 200);
    assert.match(stderr, /listening on http:\/\/127\.0\.0\.1:\d+ \(store fs:.*store, snapshot \d{8}T\d{6}Z-[0-9a-f]{8}\)/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const request = lines.find((l) => l.kind === 'request' && l.route === 'manifest')!;
  assert.equal(request.status, 200);
  assert.equal(request.via, 'build');
  assert.equal(typeof request.ms, 'number');
  assert.ok(lines.some((l) => l.event === 'build-done'));
  assert.equal(lines[lines.length - 1]!.event, 'stopped');
});

test('serve: a bad configuration, a bad flag, an s3 store without credentials', async () => {
  const bad = join(world.work, 'bad.yaml');
  await writeFile(bad, 'listen: 127.0.0.1:0\nlimits: {bulids: 2}\n');
  const r1 = await runCli(['serve', '--config', bad]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /CONFIG_INVALID.*bad\.yaml:2: limits\.bulids: unknown field \(did you mean "builds"\?\)/);
  const r2 = await runCli(['serve', '--listen', 'nowhere']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--listen "nowhere" is not host:port/);
  const r3 = await runCli(['serve', '--listen', '127.0.0.1:0', '--store', 's3://bucket/x'], { env: { S3_ENDPOINT: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', S3_KEY: '', S3_SECRET: '' } });
  assert.equal(r3.code, 2, r3.stderr);
  assert.match(r3.stderr, /needs an endpoint and credentials/);
});
