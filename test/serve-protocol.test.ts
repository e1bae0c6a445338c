// `strata serve` speaks the OCI distribution-spec v1.1 pull side: base, manifests by tag and
// digest with content negotiation, blobs with ranges, tags with pagination, referrers, and an
// error body with the spec's code for every refusal — over a real socket on 127.0.0.1, against
// the hermetic signed archive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { canonicalJson } from '../src/digest/canonical-json.js';
import { attachArtifact } from '../src/server/referrers.js';
import { ALL_MANIFESTS, errorCode, makeServeWorld, raw, serveConfig, startTestServer, type RawResponse, type ServeWorld, type TestServer } from './helpers/serve-fixture.js';

let world: ServeWorld;
let server: TestServer;

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => raw(server.url, path, { method, headers });
const jsonOf = <T>(r: RawResponse) => JSON.parse(r.body.toString('utf8')) as T;

interface Manifest {
  mediaType: string;
  config: { digest: string; mediaType: string; size: number };
  layers: Array<{ digest: string; size: number; mediaType: string; annotations?: Record<string, string> }>;
}

function expectError(r: RawResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status}: ${r.body.toString()}`);
  assert.equal(errorCode(r), code, r.body.toString());
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(Number(r.headers['content-length']), r.body.length);
  if (message) assert.match(jsonOf<{ errors: Array<{ message: string }> }>(r).errors[0]!.message, message);
}

before(async () => {
  world = await makeServeWorld();
  server = await startTestServer(world, { config: serveConfig(world, (c) => (c.limits.packages = 4)) });
});

after(async () => {
  await server?.close();
  await world?.mirror.close();
  if (world) await rm(world.work, { recursive: true, force: true });
});

test('GET /v2/ answers 200 with the API version header', async () => {
  const r = await get('/v2/');
  assert.equal(r.status, 200);
  assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
  assert.equal(r.body.toString(), '{}');
  assert.equal(r.headers['content-length'], '2');
});

describe('manifests', () => {
  test('by tag: built on demand; digest, length and type headers; HEAD agrees; by digest gives the same bytes', async () => {
    const r = await get('/v2/fixapp/manifests/latest', { accept: ALL_MANIFESTS });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(r.headers['docker-content-digest'], sha(r.body));
    assert.equal(Number(r.headers['content-length']), r.body.length);
    assert.equal(r.body.toString(), canonicalJson(JSON.parse(r.body.toString())), 'canonical JSON');
    const head = await get('/v2/fixapp/manifests/latest', { accept: ALL_MANIFESTS }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['docker-content-digest'], r.headers['docker-content-digest']);
    assert.equal(head.headers['content-length'], r.headers['content-length']);
    const byDigest = await get(`/v2/fixapp/manifests/${r.headers['docker-content-digest']}`);
    assert.ok(byDigest.body.equals(r.body));
    const headDigest = await get(`/v2/fixapp/manifests/${r.headers['docker-content-digest']}`, {}, 'HEAD');
    assert.equal(headDigest.status, 200);
    const notModified = await get('/v2/fixapp/manifests/latest', { 'if-none-match': `"${r.headers['docker-content-digest']}"` });
    assert.equal(notModified.status, 304);
  });

  test('every blob of the image is served with its digest, and the bytes hash to it', async () => {
    const m = jsonOf<Manifest>(await get('/v2/fixapp/manifests/latest'));
    for (const d of [m.config, ...m.layers]) {
      const b = await get(`/v2/fixapp/blobs/${d.digest}`);
      assert.equal(b.status, 200);
      assert.equal(sha(b.body), d.digest);
      assert.equal(b.body.length, d.size);
      assert.equal(b.headers['docker-content-digest'], d.digest);
      assert.equal(Number(b.headers['content-length']), d.size);
      const h = await get(`/v2/fixapp/blobs/${d.digest}`, {}, 'HEAD');
      assert.equal(h.status, 200);
      assert.equal(h.body.length, 0);
      assert.equal(Number(h.headers['content-length']), d.size);
      assert.equal(h.headers['docker-content-digest'], d.digest);
    }
    const config = jsonOf<{ architecture: string; rootfs: { diff_ids: string[] } }>(await get(`/v2/fixapp/blobs/${m.config.digest}`));
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.rootfs.diff_ids.length, m.layers.length);
  });

  test('content negotiation: OCI manifest, Docker schema 2, OCI index and Docker list, with q-values', async () => {
    const oci = await get('/v2/fixapp/manifests/latest');
    assert.equal(oci.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json', 'no Accept: the image itself');
    const ociManifest = jsonOf<Manifest>(oci);

    const docker = await get('/v2/fixapp/manifests/latest', { accept: 'application/vnd.docker.distribution.manifest.v2+json' });
    assert.equal(docker.headers['content-type'], 'application/vnd.docker.distribution.manifest.v2+json');
    const dm = jsonOf<Manifest>(docker);
    assert.equal(dm.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(dm.config.mediaType, 'application/vnd.docker.container.image.v1+json');
    assert.deepEqual(dm.layers.map((l) => l.digest), ociManifest.layers.map((l) => l.digest), 'the same layer blobs');
    assert.ok(dm.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
    assert.notEqual(docker.headers['docker-content-digest'], oci.headers['docker-content-digest']);
    assert.equal(docker.headers['docker-content-digest'], sha(docker.body));
    assert.ok((await get(`/v2/fixapp/manifests/${docker.headers['docker-content-digest']}`)).body.equals(docker.body), 'the Docker form is pullable by digest');

    const index = await get('/v2/fixapp/manifests/latest', { accept: 'application/vnd.oci.image.index.v1+json' });
    assert.equal(index.headers['content-type'], 'application/vnd.oci.image.index.v1+json');
    const ix = jsonOf<{ manifests: Array<{ digest: string; platform: { architecture: string; os: string } }> }>(index);
    assert.equal(ix.manifests[0]!.digest, oci.headers['docker-content-digest']);
    assert.deepEqual(ix.manifests[0]!.platform, { architecture: 'amd64', os: 'linux' });

    const list = await get('/v2/fixapp/manifests/latest', { accept: 'application/vnd.docker.distribution.manifest.list.v2+json' });
    assert.equal(list.headers['content-type'], 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.equal(jsonOf<{ manifests: Array<{ digest: string }> }>(list).manifests[0]!.digest, docker.headers['docker-content-digest']);

    const ranked = await get('/v2/fixapp/manifests/latest', { accept: 'application/vnd.oci.image.manifest.v1+json;q=0.5, application/vnd.docker.distribution.manifest.v2+json' });
    assert.equal(ranked.headers['content-type'], 'application/vnd.docker.distribution.manifest.v2+json', 'the higher q wins');
    const two = await raw(server.url, '/v2/fixapp/manifests/latest', { headers: { accept: 'text/plain, application/vnd.oci.image.index.v1+json' } });
    assert.equal(two.headers['content-type'], 'application/vnd.oci.image.index.v1+json');
  });
});

describe('blobs with Range', () => {
  let big: { digest: string; size: number };
  let whole: Buffer;
  before(async () => {
    const m = jsonOf<Manifest>(await get('/v2/fixbig/manifests/latest'));
    big = m.layers.reduce((a, b) => (b.size > a.size ? b : a));
    whole = (await get(`/v2/fixbig/blobs/${big.digest}`)).body;
    assert.ok(big.size > 100_000, 'a big layer');
  });

  test('one range in each form: 206 with Content-Range; another unit is ignored', async () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=0-9', 0, 9],
      ['bytes=100-', 100, big.size - 1],
      ['bytes=-5', big.size - 5, big.size - 1],
      [`bytes=10-${big.size * 3}`, 10, big.size - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await get(`/v2/fixbig/blobs/${big.digest}`, { range });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${big.size}`);
      assert.equal(Number(r.headers['content-length']), end - start + 1);
      assert.equal(r.headers['docker-content-digest'], big.digest);
      assert.ok(r.body.equals(whole.subarray(start, end + 1)), range);
    }
    const other = await get(`/v2/fixbig/blobs/${big.digest}`, { range: 'items=0-1' });
    assert.equal(other.status, 200);
    assert.equal(other.body.length, big.size);
  });

  test('bad ranges are 416 RANGE_INVALID with Content-Range: bytes */SIZE', async () => {
    for (const range of [`bytes=${big.size}-`, `bytes=${big.size + 10}-${big.size + 20}`, 'bytes=5-2', 'bytes=0-1,3-4', 'bytes=abc', 'bytes=-0', 'bytes', 'bytes=99999999999999999999-']) {
      const r = await get(`/v2/fixbig/blobs/${big.digest}`, { range });
      expectError(r, 416, 'RANGE_INVALID');
      assert.equal(r.headers['content-range'], `bytes */${big.size}`, range);
    }
  });
});

describe('tags and referrers', () => {
  test('tags/list names the snapshots and latest, with pagination by n and last', async () => {
    const all = jsonOf<{ name: string; tags: string[] }>(await get('/v2/fixapp/tags/list'));
    const tag = server.registry.snapshots.current!.record.tag;
    assert.deepEqual(all, { name: 'fixapp', tags: [tag, 'latest'] });
    const first = await get('/v2/fixapp/tags/list?n=1');
    assert.deepEqual(jsonOf<{ tags: string[] }>(first).tags, [tag]);
    assert.equal(first.headers.link, `</v2/fixapp/tags/list?n=1&last=${tag}>; rel="next"`);
    const second = await get(`/v2/fixapp/tags/list?n=1&last=${tag}`);
    assert.deepEqual(jsonOf<{ tags: string[] }>(second).tags, ['latest']);
    assert.equal(second.headers.link, undefined);
    assert.deepEqual(jsonOf<{ tags: string[] }>(await get('/v2/fixapp/tags/list?n=0')).tags, []);
  });

  test('referrers: an empty index for a digest without any; a served image lists its SBOMs and provenance; attached artifacts are listed and filtered', async () => {
    const subject = (await get('/v2/fixapp/manifests/latest')).headers['docker-content-digest'] as string;
    const none = `sha256:${'0'.repeat(64)}`;
    const empty = await get(`/v2/fixapp/referrers/${none}`);
    assert.equal(empty.status, 200);
    assert.equal(empty.headers['content-type'], 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(jsonOf(empty), { manifests: [], mediaType: 'application/vnd.oci.image.index.v1+json', schemaVersion: 2 });
    // Every image the server builds carries the evidence `strata build --sbom` writes.
    const evidence = jsonOf<{ manifests: Array<{ digest: string; artifactType: string }> }>(await get(`/v2/fixapp/referrers/${subject}`));
    assert.deepEqual(evidence.manifests.map((d) => d.artifactType).sort(), ['application/spdx+json', 'application/vnd.cyclonedx+json', 'application/vnd.in-toto+json']);
    for (const d of evidence.manifests) assert.equal((await get(`/v2/fixapp/manifests/${d.digest}`)).status, 200);

    const store = server.registry.store;
    const config = Buffer.from('{}');
    const sbom = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
    await store.write(sha(config), config);
    await store.write(sha(sbom), sbom);
    const artifact = Buffer.from(canonicalJson({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/spdx+json', digest: sha(sbom), size: sbom.length }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 1 },
      annotations: { 'org.opencontainers.image.created': '2022-01-01T00:00:00Z' },
    }));
    await attachArtifact(store, artifact);
    const listed = jsonOf<{ manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string> }> }>(await get(`/v2/fixapp/referrers/${subject}`));
    const mine = listed.manifests.find((d) => d.digest === sha(artifact))!;
    assert.equal(mine.artifactType, 'application/spdx+json');
    assert.equal(listed.manifests.length, 4);
    assert.equal(mine.annotations['org.opencontainers.image.created'], '2022-01-01T00:00:00Z');
    const filtered = await get(`/v2/fixapp/referrers/${subject}?artifactType=${encodeURIComponent('application/spdx+json')}`);
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.equal(jsonOf<{ manifests: unknown[] }>(filtered).manifests.length, 2, 'the served SPDX SBOM and the attached one');
    assert.equal(jsonOf<{ manifests: unknown[] }>(await get(`/v2/fixapp/referrers/${subject}?artifactType=application/vnd.other`)).manifests.length, 0);
    const pulled = await get(`/v2/fixapp/manifests/${sha(artifact)}`);
    assert.equal(pulled.status, 200);
    assert.ok(pulled.body.equals(artifact));
    expectError(await get('/v2/fixapp/referrers/sha256:nothex'), 400, 'DIGEST_INVALID');
  });
});

describe('refusals, each with its status and OCI error code', () => {
  test('malformed names and path traversal are NAME_INVALID', async () => {
    for (const path of ['/v2/Fixapp/manifests/latest', '/v2/%2e%2e/manifests/latest', '/v2/../../etc/manifests/latest', '/v2/fixapp/../x/manifests/latest', '/v2/fix%20app/manifests/latest', '/v2/fixapp//fix-data/manifests/latest', '/v2/-fixapp/blobs/sha256:' + '0'.repeat(64), '/v2/fixapp%2F..%2F..%2Fetc/tags/list']) {
      expectError(await get(path), 400, 'NAME_INVALID');
    }
    expectError(await get('/v2/libfix++1/manifests/latest'), 400, 'NAME_INVALID', /write it libfix_p_p1/);
    const escaped = await get('/v2/libfix_p_p1/manifests/latest');
    assert.equal(escaped.status, 200, escaped.body.toString());
    assert.match(escaped.body.toString(), /libfix\+\+1=1\.0-1/, 'the layer annotation names the real package');
  });

  test('no image for the name: unknown package with close names, unsatisfiable with the chain, conflicts, unknown architecture or spec', async () => {
    expectError(await get('/v2/fixap/manifests/latest'), 404, 'NAME_UNKNOWN', /no package named fixap .*did you mean fixapp/);
    expectError(await get('/v2/fixchain/manifests/latest'), 404, 'NAME_UNKNOWN', /fixchain → fixbroken → libfix6 \(>= 9\.0\)/);
    expectError(await get('/v2/fixconf-a/fixconf-b/manifests/latest'), 404, 'NAME_UNKNOWN', /fixconf/);
    expectError(await get('/v2/i386/fixapp/manifests/latest'), 404, 'NAME_UNKNOWN', /does not build for i386/);
    expectError(await get('/v2/spec/nothing/manifests/latest'), 404, 'NAME_UNKNOWN', /no spec named nothing/);
    const head = await get('/v2/fixap/manifests/latest', {}, 'HEAD');
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0, 'HEAD errors have no body');
  });

  test('over the package limit is 403 DENIED saying the limit', async () => {
    expectError(await get('/v2/fix-data/fixapp/fixtool/fixxz/fixzstd/manifests/latest'), 403, 'DENIED', /5 packages.*at most 4.*limits\.packages/);
  });

  test('unknown tags, unknown and malformed digests', async () => {
    expectError(await get('/v2/fixapp/manifests/v1.0'), 404, 'MANIFEST_UNKNOWN', /no tag v1\.0/);
    expectError(await get('/v2/fixapp/manifests/20220101T000000Z-00000000'), 404, 'MANIFEST_UNKNOWN');
    expectError(await get(`/v2/fixapp/manifests/sha256:${'0'.repeat(64)}`), 404, 'MANIFEST_UNKNOWN');
    expectError(await get(`/v2/fixapp/blobs/sha256:${'0'.repeat(64)}`), 404, 'BLOB_UNKNOWN');
    const m = jsonOf<Manifest>(await get('/v2/fixapp/manifests/latest'));
    expectError(await get(`/v2/fixapp/manifests/${m.layers[0]!.digest}`), 404, 'MANIFEST_UNKNOWN', /no manifest/);
    for (const d of ['sha256:xyz', `sha256:${'A'.repeat(64)}`, `sha512:${'0'.repeat(128)}`, 'md5:d41d8cd98f00b204e9800998ecf8427e', 'sha256:..%2f..%2fetc%2fpasswd', `sha256:${'0'.repeat(65)}`]) {
      expectError(await get(`/v2/fixapp/blobs/${d}`), 400, 'DIGEST_INVALID');
      expectError(await get(`/v2/fixapp/manifests/${d}`), 400, 'DIGEST_INVALID');
    }
    expectError(await get('/v2/fixapp/manifests/..%2F..%2Fetc%2Fpasswd'), 404, 'MANIFEST_UNKNOWN');
    const traversal = await get('/v2/fixapp/blobs/sha256:../../../etc/passwd');
    assert.equal(traversal.status, 404);
    assert.doesNotMatch(traversal.body.toString(), /root:/);
  });

  test('pushes and deletes are 405 UNSUPPORTED with a message that says so', async () => {
    const cases: Array<[string, string]> = [
      ['POST', '/v2/fixapp/blobs/uploads/'],
      ['PATCH', '/v2/fixapp/blobs/uploads/abc'],
      ['PUT', '/v2/fixapp/blobs/uploads/abc?digest=sha256:' + '0'.repeat(64)],
      ['PUT', '/v2/fixapp/manifests/latest'],
      ['DELETE', '/v2/fixapp/manifests/latest'],
      ['DELETE', `/v2/fixapp/blobs/sha256:${'0'.repeat(64)}`],
      ['POST', '/v2/'],
    ];
    for (const [method, path] of cases) {
      const r = await raw(server.url, path, { method, body: Buffer.from('{"schemaVersion":2}'), headers: { 'content-type': 'application/json' } });
      expectError(r, 405, 'UNSUPPORTED');
      assert.equal(r.headers.allow, 'GET, HEAD');
      if (path.includes('uploads') || path.includes('manifests')) assert.match(r.body.toString(), /accepts no pushes/);
    }
  });

  test('unknown endpoints are 404; oversized headers 431; request bodies 413', async () => {
    const unknown = await get('/v2/fixapp/somewhere');
    assert.equal(unknown.status, 404);
    assert.equal((await get('/nothing-here')).status, 404);
    const big = await get('/v2/', { 'x-padding': 'x'.repeat(20_000) });
    assert.equal(big.status, 431);
    assert.equal(errorCode(big), 'SIZE_INVALID');
    const body = await raw(server.url, '/v2/', { method: 'GET', body: Buffer.from('0123456789') });
    expectError(body, 413, 'SIZE_INVALID', /body of 10 bytes/);
    const ok = await get('/v2/');
    assert.equal(ok.status, 200, 'the server still answers after the refusals');
  });
});
