// `strata serve` with the real clients: skopeo inspects and copies several on-demand images of
// the hermetic archive (each copy validated by oci-image-tool, its digest unchanged); podman
// pulls an image built from the real Debian mirror of the host's apt sources and runs its main
// program with runc; the same pull twice, and after a restart of the server, gives one digest.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheDir } from '../src/cache/cache-dir.js';
import { defaultServerConfig } from '../src/server/config.js';
import { startServer, type RunningServer } from '../src/server/serve.js';
import { FsStore } from '../src/store/fs-store.js';
import { run, runOk, testCacheDir } from './helpers/examples.js';
import { makeServeWorld, raw, startTestServer, type ServeWorld, type TestServer } from './helpers/serve-fixture.js';
import { tempDir } from './helpers/temp.js';

describe('skopeo against the hermetic archive', () => {
  let world: ServeWorld;
  let server: TestServer;
  before(async () => {
    world = await makeServeWorld();
    server = await startTestServer(world);
  });
  after(async () => {
    await server?.close();
    await world?.mirror.close();
    if (world) await rm(world.work, { recursive: true, force: true });
  });

  test('skopeo inspect and skopeo copy of several on-demand images; oci-image-tool validates each copy', async () => {
    const images: Array<[string, string[]]> = [
      ['fixapp', []],
      ['shell/fixtool', []],
      ['nonroot/libfix_p_p1/fixbig', []],
      ['arm64/fix-data', ['--override-arch', 'arm64']],
    ];
    for (const [name, extra] of images) {
      const ref = `docker://${server.host}/${name}:latest`;
      const raw0 = JSON.parse((await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', ...extra, ref])).stdout) as { mediaType: string };
      assert.equal(raw0.mediaType, 'application/vnd.oci.image.manifest.v1+json', name);
      const inspect = JSON.parse((await runOk('skopeo', ['inspect', '--tls-verify=false', ...extra, ref])).stdout) as { Digest: string; Architecture: string; RepoTags: string[] };
      assert.equal(inspect.Architecture, name.startsWith('arm64/') ? 'arm64' : 'amd64');
      assert.ok(inspect.RepoTags.includes('latest'));
      const served = (await raw(server.url, `/v2/${name}/manifests/latest`)).headers['docker-content-digest'];
      assert.equal(inspect.Digest, served, `${name}: skopeo sees the digest the server serves`);
      const dir = join(world.work, `${name.replace(/\//g, '_')}.oci`);
      await runOk('skopeo', ['copy', '--src-tls-verify=false', ...extra, ref, `oci:${dir}:latest`]);
      const copied = JSON.parse((await runOk('skopeo', ['inspect', `oci:${dir}:latest`])).stdout) as { Digest: string };
      assert.equal(copied.Digest, served, `${name}: the copy keeps the digest`);
      const v = await run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=latest', dir]);
      assert.equal(v.code, 0, `${name}: ${v.stdout}${v.stderr}`);
    }
  });
});

describe('podman against the real Debian mirror', () => {
  let work: string;
  let storeDir: string;
  let server: RunningServer | undefined;
  const pulled: string[] = [];

  const start = async () => {
    const config = defaultServerConfig();
    config.listen = '127.0.0.1:0';
    config.refreshSeconds = 0;
    server = await startServer({ config, store: await FsStore.open(storeDir), cache: await CacheDir.open(testCacheDir()) });
    return server;
  };

  before(async () => {
    work = await tempDir(undefined, 'strata-serve-podman-');
    storeDir = await mkdtemp(join(work, 'store-'));
  });
  after(async () => {
    await server?.close();
    for (const image of pulled) await run('podman', ['rmi', '-f', image]);
    await rm(work, { recursive: true, force: true });
  });

  test('podman pulls nonroot/redis-server and runs redis-server with runc; the same pull twice and after a restart gives one digest', async () => {
    let s = await start();
    const host = s.url.replace(/^http:\/\//, '');
    const image = `${host}/nonroot/redis-server`;
    pulled.push(`${image}:latest`);
    const digestOf = async (ref: string) => (await runOk('podman', ['image', 'inspect', '--format', '{{.Digest}}', ref])).stdout.trim();
    await runOk('podman', ['pull', '-q', '--tls-verify=false', `${image}:latest`], { timeoutMs: 600_000 });
    const first = await digestOf(`${image}:latest`);
    assert.equal(first, (await raw(s.url, '/v2/nonroot/redis-server/manifests/latest', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).headers['docker-content-digest']);
    const version = await runOk('podman', ['run', '--rm', '--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--network=none', `${image}:latest`, 'redis-server', '--version']);
    assert.match(version.stdout, /^Redis server v=7\./);
    const user = (await runOk('podman', ['image', 'inspect', '--format', '{{.Config.User}}', `${image}:latest`])).stdout.trim();
    assert.equal(user, '65532:65532');

    await runOk('podman', ['pull', '-q', '--tls-verify=false', `${image}:latest`]);
    assert.equal(await digestOf(`${image}:latest`), first, 'the same pull twice');

    const tag = s.registry.snapshots.current!.record.tag;
    await s.close();
    s = await start();
    const host2 = s.url.replace(/^http:\/\//, '');
    const again = `${host2}/nonroot/redis-server`;
    pulled.push(`${again}:${tag}`, `${again}:latest`);
    // By the snapshot's tag: the same image whatever the mirror did meanwhile.
    await runOk('podman', ['pull', '-q', '--tls-verify=false', `${again}:${tag}`]);
    assert.equal(await digestOf(`${again}:${tag}`), first, 'after a restart, by the snapshot tag');
    if (s.registry.snapshots.current!.record.tag === tag) {
      await runOk('podman', ['pull', '-q', '--tls-verify=false', `${again}:latest`]);
      assert.equal(await digestOf(`${again}:latest`), first, 'after a restart, latest (the mirror did not move)');
    }
  });
});
