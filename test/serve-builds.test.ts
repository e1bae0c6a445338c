// On-demand builds of `strata serve`, against the hermetic signed archive on 127.0.0.1: names
// as package sets and meta-components, the image equal to what `strata build` makes from the
// spec and lock the server hands out, one build for 50 simultaneous pulls, 500 mixed requests,
// the limits and what a failed build leaves (nothing), snapshots that stay pullable, restarts,
// the home page, metrics and logs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isStrataError } from '../src/errors.js';
import { runCli } from './helpers/cli.js';
import { errorCode, makeServeWorld, moveArchiveOn, raw, serveConfig, startTestServer, type RawResponse, type ServeWorld, type TestServer } from './helpers/serve-fixture.js';

let world: ServeWorld;
let server: TestServer;
const others: TestServer[] = [];

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const jsonOf = <T>(r: RawResponse) => JSON.parse(r.body.toString('utf8')) as T;
const digestOf = async (s: TestServer, name: string, ref = 'latest') => {
  const r = await raw(s.url, `/v2/${name}/manifests/${ref}`);
  assert.equal(r.status, 200, `${name}:${ref}: ${r.body.toString()}`);
  return r.headers['docker-content-digest'] as string;
};
const configOf = async (s: TestServer, name: string) => {
  const m = jsonOf<{ config: { digest: string } }>(await raw(s.url, `/v2/${name}/manifests/latest`));
  return jsonOf<{ architecture: string; variant?: string; config: { User?: string; Cmd?: string[]; WorkingDir?: string; Entrypoint?: string[] } }>(await raw(s.url, `/v2/${name}/blobs/${m.config.digest}`));
};
const builds = (s: TestServer, name: string) => s.logs.filter((l) => l.kind === 'event' && l.event === 'build-start' && l.name === name).length;

async function another(opts: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  const s = await startTestServer(world, opts);
  others.push(s);
  return s;
}

before(async () => {
  world = await makeServeWorld();
  const spec = join(world.work, 'fixspec.yaml');
  await writeFile(spec, `source:\n  mirror: ${world.mirror.url}\n  suites: [fixture, fixture-updates]\n  keyring: ${world.archive.keyring}\npackages: [fixtool]\nentrypoint: [/usr/bin/fixtool]\n`);
  server = await startTestServer(world, { config: serveConfig(world, (c) => (c.specs = { fixspec: spec })) });
});

after(async () => {
  for (const s of [server, ...others]) await s?.close();
  await world?.mirror.close();
  if (world) await rm(world.work, { recursive: true, force: true });
});

describe('names', () => {
  test('the packages are a set: any order gives one image, built once', async () => {
    const a = await digestOf(server, 'fixtool/fixapp');
    assert.equal(await digestOf(server, 'fixapp/fixtool'), a);
    assert.equal(await digestOf(server, 'amd64/fixapp/fixtool/fixapp'), a);
    assert.equal(builds(server, 'amd64/fixapp/fixtool'), 1);
  });

  test('shell runs bash; nonroot runs as 65532 in its home; arm64/ builds for arm64', async () => {
    assert.deepEqual((await configOf(server, 'shell/fixtool')).config.Cmd, ['/bin/bash']);
    const nonroot = await configOf(server, 'nonroot/fixtool');
    assert.equal(nonroot.config.User, '65532:65532');
    assert.equal(nonroot.config.WorkingDir, '/home/nonroot');
    const arm = await configOf(server, 'arm64/fix-data');
    assert.equal(arm.architecture, 'arm64');
    assert.equal(arm.variant, 'v8');
    assert.notEqual(await digestOf(server, 'arm64/fix-data'), await digestOf(server, 'fix-data'));
  });

  test('spec/NAME builds the named spec of the config; a named spec from another source is refused at start', async () => {
    assert.deepEqual((await configOf(server, 'spec/fixspec')).config.Entrypoint, ['/usr/bin/fixtool']);
    const bad = join(world.work, 'elsewhere.yaml');
    await writeFile(bad, 'packages: [fixtool]\n');
    await assert.rejects(another({ config: serveConfig(world, (c) => (c.specs = { elsewhere: bad })) }), (e: unknown) => isStrataError(e, 'CONFIG_INVALID') && /another source/.test(e.message));
  });
});

test('the image is exactly what `strata lock` and `strata build` make from the spec the server hands out', async () => {
  const name = 'nonroot/shell/fixapp';
  const digest = await digestOf(server, name);
  const dir = join(world.work, 'rebuild');
  await mkdir(dir, { recursive: true });
  const spec = await raw(server.url, `/strata/spec?name=${name}`);
  const lock = await raw(server.url, `/strata/lock?name=${name}`);
  assert.equal(spec.status, 200);
  assert.equal(lock.status, 200);
  await writeFile(join(dir, 'image.yaml'), spec.body);
  const env = { STRATA_HTTP_TIMEOUT_MS: '2000', STRATA_HTTP_RETRIES: '1' };
  // A fresh lock of the spec is the lock the server used...
  const locked = await runCli(['lock', join(dir, 'image.yaml'), '--cache-dir', world.cacheDir], { env });
  assert.equal(locked.code, 0, locked.stderr);
  assert.equal(await readFile(join(dir, 'image.lock.json'), 'utf8'), lock.body.toString(), 'strata lock writes the lock the server serves');
  // ...and strata build of it gives the digest the server serves.
  const built = await runCli(['build', join(dir, 'image.yaml'), '-o', join(dir, 'image.oci'), '--cache-dir', world.cacheDir, '--json'], { env });
  assert.equal(built.code, 0, built.stderr);
  assert.equal((JSON.parse(built.stdout) as { digest: string }).digest, digest);
});

test('50 simultaneous pulls of a new combination cause one build and get one digest', async () => {
  const name = 'fixmailer/fixxz/fixzstd';
  const responses = await Promise.all(Array.from({ length: 50 }, () => raw(server.url, `/v2/${name}/manifests/latest`)));
  assert.deepEqual(responses.map((r) => r.status), Array(50).fill(200));
  assert.equal(new Set(responses.map((r) => r.headers['docker-content-digest'])).size, 1);
  assert.equal(builds(server, 'amd64/fixmailer/fixxz/fixzstd'), 1);
  const via = server.logs.filter((l) => l.kind === 'request' && l.route === 'manifest' && typeof l.path === 'string' && l.path.includes(name)).map((l) => (l as unknown as { via: string }).via);
  assert.equal(via.filter((v) => v === 'build').length, 1);
  assert.equal(via.filter((v) => v === 'join').length + via.filter((v) => v === 'hit').length, 49);
});

test('500 requests of mixed cached manifests and blobs all succeed, each body matching its digest', async () => {
  const names = ['fixapp', 'fixbig', 'fixtool', 'shell/fixtool', 'libfix_p_p1'];
  const targets: Array<{ path: string; digest: string; accept?: string }> = [];
  for (const n of names) {
    const m = await raw(server.url, `/v2/${n}/manifests/latest`);
    targets.push({ path: `/v2/${n}/manifests/latest`, digest: m.headers['docker-content-digest'] as string });
    const docker = await raw(server.url, `/v2/${n}/manifests/latest`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    targets.push({ path: `/v2/${n}/manifests/latest`, digest: docker.headers['docker-content-digest'] as string, accept: 'application/vnd.docker.distribution.manifest.v2+json' });
    const manifest = jsonOf<{ config: { digest: string }; layers: Array<{ digest: string }> }>(m);
    for (const d of [manifest.config, ...manifest.layers]) targets.push({ path: `/v2/${n}/blobs/${d.digest}`, digest: d.digest });
  }
  const requests = Array.from({ length: 500 }, (_, i) => targets[(i * 7) % targets.length]!);
  const results = await Promise.all(requests.map((t) => raw(server.url, t.path, t.accept ? { headers: { accept: t.accept } } : {})));
  const bad = results.map((r, i) => ({ r, t: requests[i]! })).filter(({ r, t }) => r.status !== 200 || sha(r.body) !== t.digest || r.headers['docker-content-digest'] !== t.digest);
  assert.deepEqual(bad.map(({ r, t }) => `${t.path}: ${r.status}`), []);
});

describe('limits and failures', () => {
  test('a closure over the limits is 403 DENIED before anything is built', async () => {
    const s = await another({ config: serveConfig(world, (c) => Object.assign(c.limits, { closurePackages: 2, closureBytes: 100 * 1024 })) });
    const many = await raw(s.url, '/v2/fixapp/manifests/latest');
    assert.equal(many.status, 403);
    assert.equal(errorCode(many), 'DENIED');
    assert.match(many.body.toString(), /3 packages.*at most 2.*limits\.closure-packages/);
    const large = await raw(s.url, '/v2/fixbig/manifests/latest');
    assert.equal(large.status, 403);
    assert.match(large.body.toString(), /limits\.closure-size/);
    assert.deepEqual(await s.registry.store.listRecords('images/'), []);
    assert.equal((await raw(s.url, '/v2/fix-data/manifests/latest')).status, 200);
  });

  test('a build that fails (a .deb the mirror lost) is 502 and leaves nothing visible; the next pull builds', async () => {
    // A fresh cache, so that the .deb must be downloaded.
    const s = await another({ cacheDir: join(world.work, 'cache-fail') });
    const deb = world.archive.debs.get('fixzstd_1.0_amd64')!.filename;
    world.mirror.faults.set(deb, { status: 404 });
    try {
      const r = await raw(s.url, '/v2/fixzstd/fixtool/manifests/latest');
      assert.equal(r.status, 502, r.body.toString());
      assert.equal(errorCode(r), 'UNAVAILABLE');
      assert.match(r.body.toString(), /fixzstd/);
    } finally {
      world.mirror.faults.delete(deb);
    }
    assert.deepEqual((await s.registry.store.listRecords('images/')).filter((k) => k.includes('fixzstd')), []);
    assert.deepEqual(await readdir(join(s.storeDir, 'tmp')), [], 'no temp file left');
    assert.equal(jsonOf<{ repositories: string[] }>(await raw(s.url, '/v2/_catalog')).repositories.includes('amd64/fixtool/fixzstd'), false);
    assert.equal((await raw(s.url, '/v2/fixzstd/fixtool/manifests/latest')).status, 200);
  });

  test('a slow build is 503 with Retry-After after the time-out and goes on; over the build cap is 429', async () => {
    // A fresh cache, so that the .deb must be downloaded (and hangs).
    const s = await another({ cacheDir: join(world.work, 'cache-slow'), config: serveConfig(world, (c) => Object.assign(c.limits, { builds: 1, queue: 0, buildTimeoutMs: 300 })) });
    const deb = world.archive.debs.get('fixxz_1.0_amd64')!.filename;
    world.mirror.faults.set(deb, { hang: true });
    try {
      const slow = await raw(s.url, '/v2/fixxz/fixbig/manifests/latest');
      assert.equal(slow.status, 503, slow.body.toString());
      assert.equal(errorCode(slow), 'UNAVAILABLE');
      assert.equal(slow.headers['retry-after'], '30');
      assert.match(slow.body.toString(), /did not finish within 0\.3 s/);
      const busy = await raw(s.url, '/v2/fixmail-a/fixbig/manifests/latest');
      assert.equal(busy.status, 429, busy.body.toString());
      assert.equal(errorCode(busy), 'TOOMANYREQUESTS');
      assert.ok(busy.headers['retry-after']);
    } finally {
      world.mirror.faults.delete(deb);
    }
    // The hung download times out; the slot frees; the same pull then builds.
    for (let i = 0; i < 100 && s.registry.builder.running > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await raw(s.url, '/v2/fixxz/fixbig/manifests/latest')).status, 200);
  });
});

test('the home page, /metrics and one JSON log line per request', async () => {
  const text = await raw(server.url, '/');
  assert.equal(text.status, 200);
  assert.match(text.headers['content-type'] as string, /^text\/plain/);
  assert.match(text.body.toString(), /podman pull --tls-verify=false 127\.0\.0\.1:\d+\/redis-server/);
  assert.match(text.body.toString(), /Recently built\n(.*\n)*.*amd64\/fixapp:\d{8}T\d{6}Z-[0-9a-f]{8}  sha256:/);
  assert.match(text.body.toString(), /spec\/fixspec/);
  const html = await raw(server.url, '/', { headers: { accept: 'text/html' } });
  assert.match(html.headers['content-type'] as string, /^text\/html/);
  assert.match(html.body.toString(), /^<!doctype html>/);
  const metrics = (await raw(server.url, '/metrics')).body.toString();
  for (const re of [
    /^strata_http_requests_total\{method="GET",route="manifest",status="200"\} \d+$/m,
    /^strata_builds_total\{result="ok"\} \d+$/m,
    /^strata_manifest_requests_total\{via="hit"\} \d+$/m,
    /^strata_layer_cache_hits_total \d+$/m,
    /^strata_http_response_bytes_total\{route="blob"\} [1-9]\d*$/m,
    /^strata_http_request_duration_seconds_bucket\{route="manifest",le="0\.005"\} \d+$/m,
    /^strata_snapshot_epoch_seconds\{tag="\d{8}T\d{6}Z-[0-9a-f]{8}"\} \d+$/m,
  ]) {
    assert.match(metrics, re);
  }
  const requests = server.logs.filter((l) => l.kind === 'request');
  assert.ok(requests.length > 500);
  for (const l of requests) {
    assert.equal(typeof l.ms, 'number');
    assert.equal(typeof l.status, 'number');
    assert.equal(typeof l.path, 'string');
    JSON.parse(JSON.stringify(l));
  }
});

test('snapshots: latest moves with the archive; every snapshot held stays pullable, byte for byte, also after a restart', async () => {
  const a = await another();
  const c = await another();
  const s1 = a.registry.snapshots.current!.record.tag;
  const a1 = await digestOf(a, 'fixapp');
  const d1 = await digestOf(c, 'fixtool');
  assert.equal(await digestOf(a, 'fixapp'), a1, 'the same pull twice');

  await moveArchiveOn(world);
  const s2 = (await a.registry.snapshots.refresh()).record.tag;
  assert.notEqual(s2, s1);
  assert.deepEqual(jsonOf<{ tags: string[] }>(await raw(a.url, '/v2/fixapp/tags/list')).tags, [s1, s2, 'latest']);
  const a2 = await digestOf(a, 'fixapp');
  assert.notEqual(a2, a1, 'latest is built from the new snapshot');
  assert.equal(await digestOf(a, 'fixapp', s2), a2);
  assert.equal(await digestOf(a, 'fixapp', s1), a1, 'the earlier snapshot still gives the earlier image');
  assert.equal(await digestOf(a, 'fixtool', s1), d1, 'an image never built at the earlier snapshot is built from it, reopened from the cache');
  assert.equal(await digestOf(a, 'fixtool', s1), d1);

  await a.close();
  const again = await another({ storeDir: a.storeDir });
  assert.equal(again.registry.snapshots.current!.record.tag, s2);
  assert.equal(await digestOf(again, 'fixapp'), a2, 'after a restart: the same digest');
  assert.equal(await digestOf(again, 'fixapp', s1), a1);
  assert.equal(builds(again, 'amd64/fixapp'), 0, 'served from the store, not rebuilt');

  const refreshing = await another({ config: serveConfig(world, (cfg) => (cfg.refreshSeconds = 0.2)) });
  await moveArchiveOn(world, '2.1-1+deb1u3', 'Mon, 03 Jan 2022 00:00:00 UTC');
  for (let i = 0; i < 50 && refreshing.registry.snapshots.current!.record.tag === s2; i++) await new Promise((r) => setTimeout(r, 100));
  assert.notEqual(refreshing.registry.snapshots.current!.record.tag, s2, 'the schedule moved latest');
  assert.ok(refreshing.logs.some((l) => l.kind === 'event' && l.event === 'snapshot' && l.previous === s2));
});
