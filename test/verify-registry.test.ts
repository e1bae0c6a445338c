// The "anyone can rebuild this digest" proof through a real registry: an image of the
// hermetic archive is pushed with skopeo to a docker-registry started on 127.0.0.1, pulled
// back into a fresh OCI layout, and `strata verify --against` that layout passes; the same
// layout with one byte of one stored layer changed fails (exit 3, integrity). The registry
// reference itself works too (strata's registry client pulls it): verify passes and diff
// finds nothing between it and the layout it was pushed from.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { runOk } from './helpers/examples.js';
import { layerOf, readLayout } from './helpers/doctor-image.js';
import { cliOk, lockedSpec, startFixture, type FixtureSpecs } from './helpers/fixture-spec.js';
import type { VerifyReport } from '../src/verify/verify.js';

let f: FixtureSpecs;
let registry: ChildProcess;
let port: number;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function untilUp(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status === 200 || r.status === 401) return;
    } catch {
      // not yet listening
    }
    if (Date.now() > end) throw new Error(`docker-registry did not come up at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  f = await startFixture(await mkdtemp(join(tmpdir(), 'strata-verify-registry-')));
  port = await freePort();
  const config = join(f.work, 'registry.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(f.work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  registry = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  await untilUp(`http://127.0.0.1:${port}/v2/`, 10_000);
});

after(async () => {
  registry?.kill();
  await f?.close();
  if (f !== undefined) await rm(f.work, { recursive: true, force: true });
});

test('an image pushed to a registry and pulled back verifies against a fresh rebuild; one changed byte fails', async () => {
  const spec = await lockedSpec(f, join(f.work, 'spec'), 'fix', 'packages: [fixapp]\nentrypoint: [/usr/bin/fixapp]\n');
  const built = join(f.work, 'built.oci');
  await cliOk(['build', spec, '-o', built, '--cache-dir', f.cache]);
  const ref = `127.0.0.1:${port}/strata/fix:latest`;
  await runOk('skopeo', ['copy', `oci:${built}:latest`, `docker://${ref}`, '--dest-tls-verify=false']);
  const pulled = join(f.work, 'pulled.oci');
  await runOk('skopeo', ['copy', `docker://${ref}`, `oci:${pulled}:latest`, '--src-tls-verify=false']);

  const ok = await runCli(['verify', spec, '--against', `${pulled}:latest`, '--json', '--cache-dir', f.cache]);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as VerifyReport;
  assert.equal(report.against!.identical, true);
  assert.equal(report.against!.digest, report.digest, 'the registry round trip kept the manifest digest');
  assert.ok(report.against!.comparison.levels.every((l) => l.same === true));

  const tampered = join(f.work, 'tampered.oci');
  await cp(pulled, tampered, { recursive: true });
  const { manifest } = await readLayout(tampered);
  const blob = join(tampered, 'blobs', 'sha256', manifest.layers[layerOf(manifest, 'fixapp')]!.digest.slice(7));
  const bytes = await readFile(blob);
  bytes[bytes.length - 20]! ^= 0x80;
  await writeFile(blob, bytes);
  const bad = await runCli(['verify', spec, '--against', `${tampered}:latest`, '--json', '--cache-dir', f.cache]);
  assert.equal(bad.code, 3, bad.stderr);
  const failed = JSON.parse(bad.stdout) as VerifyReport;
  assert.equal(failed.reproducible, false);
  assert.ok(failed.differences.some((d) => d.cause === 'integrity' && d.level === 'blob'), JSON.stringify(failed.differences, null, 1));
});

test('--against a registry reference, and diff of a registry image against its layout', async () => {
  const spec = await lockedSpec(f, join(f.work, 'spec-ref'), 'fix', 'packages: [fixapp]\nentrypoint: [/usr/bin/fixapp]\nenv: {REF: "1"}\n');
  const built = join(f.work, 'built-ref.oci');
  await cliOk(['build', spec, '-o', built, '--cache-dir', f.cache]);
  const ref = `127.0.0.1:${port}/strata/fix-ref:latest`;
  await runOk('skopeo', ['copy', `oci:${built}:latest`, `docker://${ref}`, '--dest-tls-verify=false']);
  for (const given of [`docker://${ref}`, ref]) {
    const r = await runCli(['verify', spec, '--against', given, '--insecure', '--json', '--cache-dir', f.cache]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as VerifyReport;
    assert.equal(report.against!.identical, true);
    assert.match(report.against!.label, /^registry image 127\.0\.0\.1:\d+\/strata\/fix-ref/);
  }
  const d = await runCli(['diff', `docker://${ref}`, built, '--insecure', '--json']);
  assert.equal(d.code, 0, d.stderr);
  assert.equal((JSON.parse(d.stdout) as { identical: boolean }).identical, true);
  const other = await runCli(['verify', spec.replace('spec-ref', 'spec'), '--against', `docker://${ref}`, '--insecure', '--json', '--cache-dir', f.cache]);
  assert.equal(other.code, 3, 'the image of another spec is not what this one builds');
});
