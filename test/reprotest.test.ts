// Cross-check with Debian's reproducible-builds tool: reprotest, which rebuilds a command in
// a copy of its source tree under its own variations (time via faketime, build path, umask,
// locale, time zone, HOME, CPU count, file ordering via disorderfs, …) and compares the
// artifacts, must agree with `strata verify` — both pass for `strata build` of a spec of the
// hermetic archive, both fail for a careless builder that stamps today's date into a layer.
// The command is the one docs/reproducibility.md gives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CLI, REPO_ROOT, runCli } from './helpers/cli.js';
import { run } from './helpers/examples.js';
import { lockedSpec, startFixture, type FixtureSpecs } from './helpers/fixture-spec.js';
import { onPath } from '../src/verify/rebuild.js';

let f: FixtureSpecs;
let spec: string;
const reprotest = onPath('reprotest');

before(async () => {
  f = await startFixture(await mkdtemp(join(tmpdir(), 'strata-reprotest-')));
  spec = await lockedSpec(f, join(f.work, 'spec'), 'fix', 'packages: [fixapp]\nentrypoint: [/usr/bin/fixapp]\n');
});

after(async () => {
  await f.close();
  await rm(f.work, { recursive: true, force: true });
});

/** A source tree for reprotest: the spec and its lock (reprotest copies it for each build). */
async function sourceTree(name: string): Promise<string> {
  const dir = join(f.work, name);
  await mkdir(dir, { recursive: true });
  await copyFile(spec, join(dir, basename(spec)));
  await copyFile(spec.replace(/\.yaml$/, '.lock.json'), join(dir, basename(spec).replace(/\.yaml$/, '.lock.json')));
  return dir;
}

async function runReprotest(dir: string, command: string, artifact: string, env: NodeJS.ProcessEnv = process.env) {
  return run(reprotest!, ['--vary=-user_group', '-s', dir, command, artifact], { cwd: f.work, env, timeoutMs: 300_000 });
}

test('reprotest and strata verify agree: strata build is reproducible', { skip: reprotest === undefined ? 'reprotest is not installed (apt-get install reprotest)' : false }, async () => {
  const dir = await sourceTree('good');
  // Each reprotest build gets a fresh cache inside its copy of the tree: nothing is shared.
  const r = await runReprotest(dir, `${process.execPath} ${CLI} build fix.yaml --format oci-archive -o image.tar --cache-dir ./strata-cache`, 'image.tar');
  assert.equal(r.code, 0, `reprotest failed\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout + r.stderr, /Reproduction successful/);
  const v = await runCli(['verify', spec, '--cache-dir', f.cache]);
  assert.equal(v.code, 0, v.stderr);
});

test('reprotest and strata verify agree: a builder that stamps today\'s date is not reproducible', { skip: reprotest === undefined ? 'reprotest is not installed (apt-get install reprotest)' : false }, async () => {
  const dir = await sourceTree('sloppy');
  const sloppy = join(REPO_ROOT, 'dist', 'test', 'helpers', 'sloppy-builder.js');
  const env = { ...process.env, SLOPPY: 'clock' };
  const r = await runReprotest(dir, `${process.execPath} ${sloppy} build fix.yaml -o image.oci --json --cache-dir ./strata-cache`, 'image.oci/index.json', env);
  assert.notEqual(r.code, 0, `reprotest should have found the date\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout + r.stderr, /Reproduction successful/);
  assert.match(r.stdout, /\+\+\+ .*experiment-1\/source-root\/image\.oci\/index\.json/, 'diffoscope shows the manifest digest moving');
  const v = await runCli(['verify', spec, '--cache-dir', f.cache, '--vary', 'time'], { env: { STRATA_VERIFY_CLI: sloppy, SLOPPY: 'clock' } });
  assert.equal(v.code, 3, v.stderr);
});
