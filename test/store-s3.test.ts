// The S3 store against a real S3 endpoint (Ceph RGW on 127.0.0.1): the BlobStore conformance
// suite, then `strata serve` on it — skopeo copies an image, a second server sharing the bucket
// serves the same digest without building, and presigned redirects serve the blobs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheDir } from '../src/cache/cache-dir.js';
import { startServer, type RunningServer } from '../src/server/serve.js';
import { S3Store, type S3Options } from '../src/store/s3-store.js';
import { isStrataError } from '../src/errors.js';
import { startRgw, type Rgw } from './helpers/ceph-rgw.js';
import { runOk } from './helpers/examples.js';
import { storeConformance } from './helpers/store-conformance.js';
import { FAST_NET, makeServeWorld, raw, serveConfig, type ServeWorld } from './helpers/serve-fixture.js';

let rgw: Rgw;
const options = (extra: Partial<S3Options> = {}): S3Options => ({ endpoint: rgw.endpoint, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, bucket: 'strata-test', ...extra });

before(async () => {
  rgw = await startRgw();
});
after(async () => {
  await rgw?.stop();
});

// Each store of the suite gets its own prefix, so the tests do not see each other's records.
storeConformance('s3', async () => S3Store.open(options({ prefix: `conformance-${randomBytes(4).toString('hex')}` })));

test('wrong credentials are STORE_ERROR naming the credentials', async () => {
  await assert.rejects(S3Store.open(options({ secretAccessKey: 'wrong', bucket: 'other-bucket' })), (e: unknown) => isStrataError(e, 'STORE_ERROR') && /credentials/.test(e.hint ?? ''));
});

describe('strata serve on the S3 store', () => {
  let world: ServeWorld;
  const servers: RunningServer[] = [];
  const start = async (store: S3Store, cacheDir: string) => {
    let n = 0;
    const s = await startServer({ config: serveConfig(world), store, cache: await CacheDir.open(cacheDir), net: FAST_NET, workers: 1, onLog: (e) => void (e.kind === 'event' && e.event === 'build-start' && n++) });
    servers.push(s);
    Object.defineProperty(s, 'builds', { get: () => n });
    return s as RunningServer & { builds: number };
  };
  before(async () => {
    world = await makeServeWorld();
  });
  after(async () => {
    for (const s of servers) await s.close();
    await world?.mirror.close();
    if (world) await rm(world.work, { recursive: true, force: true });
  });

  test('skopeo copies an on-demand image; a second server on the bucket serves the same digest without building; redirects serve blobs', async () => {
    const prefix = `serve-${randomBytes(4).toString('hex')}`;
    const a = await start(await S3Store.open(options({ prefix })), world.cacheDir);
    const host = a.url.replace('http://', '');
    const dir = join(world.work, 'copy.oci');
    await runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/fixapp/fixtool:latest`, `oci:${dir}:latest`]);
    const digest = (await raw(a.url, '/v2/fixapp/fixtool/manifests/latest')).headers['docker-content-digest'];
    const copied = JSON.parse((await runOk('skopeo', ['inspect', `oci:${dir}:latest`])).stdout) as { Digest: string };
    assert.equal(copied.Digest, digest);

    // Another server, another (empty) cache, the same bucket with redirects on.
    const b = await start(await S3Store.open(options({ prefix, redirect: true })), join(world.work, 'cache-b'));
    const m = await raw(b.url, '/v2/fixtool/fixapp/manifests/latest');
    assert.equal(m.headers['docker-content-digest'], digest);
    assert.equal(a.builds, 1);
    assert.equal(b.builds, 0, 'served from the shared bucket, not rebuilt');
    const layer = (JSON.parse(m.body.toString()) as { layers: Array<{ digest: string }> }).layers[0]!.digest;
    const redirect = await raw(b.url, `/v2/fixtool/fixapp/blobs/${layer}`);
    assert.equal(redirect.status, 307);
    assert.match(redirect.headers.location as string, /X-Amz-Signature=/);
    const dir2 = join(world.work, 'copy2.oci');
    await runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${b.url.replace('http://', '')}/fixtool/fixapp:latest`, `oci:${dir2}:latest`]);
    assert.equal((JSON.parse((await runOk('skopeo', ['inspect', `oci:${dir2}:latest`])).stdout) as { Digest: string }).Digest, digest, 'pulled through redirects to S3');
  });
});
