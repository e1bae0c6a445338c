// The examples under examples/, built from their committed lockfiles against the real Debian
// mirror (the host's apt sources) and checked with real tools: each builds to its golden
// digest (test/golden-digests.json), oci-image-tool validates the layout, skopeo reads it,
// umoci unpacks it, and its program runs in a bwrap sandbox as the image's user. Redis's and
// nginx's docker-archives load into podman and run there; the multi-architecture example is
// an index whose platforms skopeo selects. The cache persists between runs ($STRATA_TEST_CACHE,
// else <tmp>/strata-test-cache), so only the first run downloads.
import { validateLayout } from '../src/image/validate.js';
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeDockerArchive, writeOciLayout } from '../src/image/layout.js';
import { formatLockfile } from '../src/debian/lockfile.js';
import type { ImageConfig } from '../src/image/oci.js';
import { tempDir } from './helpers/temp.js';
import { EXAMPLES_DIR, GOLDEN_FILE, buildExample, run, runOk, sandbox, type BuiltExample, type RunResult } from './helpers/examples.js';

type Config = ImageConfig['config'];

interface Check {
  /** What the check shows, for the test name. */
  what: string;
  /** argv after the image's entrypoint (or a whole argv with `own`). */
  args: string[];
  own?: boolean;
  /** Extra bwrap options, such as binds; may prepare them in the scratch directory. */
  setup?: (scratch: string) => Promise<{ extra: string[]; expect?: RegExp }>;
  expect: RegExp;
}

/** Each example's main program, run the way the image's entrypoint runs it. */
const CHECKS: Record<string, Check[]> = {
  redis: [{ what: 'redis-server --version', args: ['--version'], expect: /^Redis server v=7\./ }],
  python: [
    {
      what: "python3 -c 'import ssl, json, sqlite3, requests' with the CA bundle loaded",
      args: ['-c', "import ssl, json, sqlite3, requests; n = ssl.create_default_context().cert_store_stats()['x509_ca']; print('ok', n, requests.certs.where())"],
      expect: /^ok [1-9][0-9]+ \/etc\/ssl\/certs\/ca-certificates\.crt$/m,
    },
  ],
  git: [
    {
      what: 'git ls-remote of a bare repository bound at /repo',
      args: ['ls-remote', '/repo'],
      setup: async (scratch) => {
        const bare = join(scratch, 'repo.git');
        const work = join(scratch, 'work');
        const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: scratch, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' };
        await runOk('git', ['init', '-q', '--bare', bare], { env });
        await runOk('git', ['init', '-q', work], { env });
        await runOk('git', ['-C', work, 'commit', '-q', '--allow-empty', '-m', 'example'], { env });
        await runOk('git', ['-C', work, 'push', '-q', bare, 'HEAD:refs/heads/main'], { env });
        const head = (await runOk('git', ['-C', work, 'rev-parse', 'HEAD'], { env })).stdout.trim();
        return { extra: ['--bind', bare, '/repo'], expect: new RegExp(`^${head}\\trefs/heads/main$`, 'm') };
      },
      expect: /refs\/heads\/main/,
    },
    { what: 'ssh -V', args: ['/usr/bin/ssh', '-V'], own: true, expect: /^OpenSSH_9\./m },
  ],
  nginx: [{ what: 'nginx -t', args: ['-t'], expect: /configuration file \/etc\/nginx\/nginx\.conf test is successful/ }],
  busybox: [{ what: "busybox sh -c 'echo ok'", args: ['-c', 'echo ok; ls /etc/passwd'], expect: /^ok\n\/etc\/passwd\n$/ }],
  multiarch: [
    {
      what: "busybox sh -c 'echo ok' (amd64), with tzdata's zones and /etc/localtime",
      args: ['-c', 'echo ok; readlink /etc/localtime; TZ=Asia/Tokyo date +%Z'],
      expect: /^ok\n\/usr\/share\/zoneinfo\/Etc\/UTC\nJST\n$/,
    },
  ],
};

/** The build issue's size targets, in MB (10^6 bytes) of compressed layers (docs/sizes.md). */
const TARGET_MB: Record<string, number> = { redis: 10, python: 0.45 * 45.4 };

const output = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

let golden: Record<string, string>;
let work: string;
const builds = new Map<string, Promise<BuiltExample>>();

/** The example's build, once per run; every test of the example awaits the same promise. */
function built(name: string): Promise<BuiltExample> {
  let p = builds.get(name);
  if (p === undefined) {
    p = buildExample(join(EXAMPLES_DIR, `${name}.yaml`));
    p.catch(() => undefined); // reported by each test that awaits it
    builds.set(name, p);
  }
  return p;
}

/** The example as an OCI layout directory tagged `latest`. */
const layouts = new Map<string, Promise<string>>();
function layout(name: string): Promise<string> {
  let p = layouts.get(name);
  if (p === undefined) {
    p = (async () => {
      const b = await built(name);
      const dir = join(work, `${name}.oci`);
      await writeOciLayout(dir, b.result.image, 'latest');
      return dir;
    })();
    p.catch(() => undefined);
    layouts.set(name, p);
  }
  return p;
}

/** `umoci unpack --rootless` of an OCI layout into a fresh bundle; returns the rootfs. */
async function unpack(dir: string, ref: string, t: TestContext): Promise<string> {
  const scratch = await tempDir(t, 'strata-bundle-');
  const bundle = join(scratch, 'bundle');
  await runOk('umoci', ['unpack', '--rootless', '--image', `${dir}:${ref}`, bundle]);
  return join(bundle, 'rootfs');
}

async function runChecks(name: string, rootfs: string, config: Config, t: TestContext): Promise<void> {
  for (const c of CHECKS[name]!) {
    const scratch = await tempDir(t, 'strata-check-');
    const prepared = c.setup ? await c.setup(scratch) : { extra: [] as string[] };
    const argv = c.own ? c.args : [...(config.Entrypoint ?? []), ...c.args];
    const r = await sandbox(rootfs, config, argv, prepared.extra);
    assert.equal(r.code, 0, `${name}: ${c.what} failed\n${output(r)}`);
    assert.match(r.stdout + r.stderr, prepared.expect ?? c.expect, `${name}: ${c.what}: unexpected output\n${output(r)}`);
  }
}

before(async () => {
  golden = JSON.parse(await readFile(GOLDEN_FILE, 'utf8')) as Record<string, string>;
  work = await tempDir(undefined, 'strata-examples-');
});

after(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

test('every example has a golden digest and checks, and every golden digest an example', async () => {
  const specs = (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();
  assert.deepEqual(Object.keys(golden).sort(), specs, 'test/golden-digests.json must name exactly the specs in examples/');
  assert.deepEqual(Object.keys(CHECKS).sort(), specs, 'CHECKS in this file must cover exactly the specs in examples/');
});

test('each lockfile records its spec as committed (strata lock was run after the last edit)', async () => {
  const { specTextSha256 } = await import('../src/spec/parse-spec.js');
  for (const name of Object.keys(CHECKS)) {
    const text = await readFile(join(EXAMPLES_DIR, `${name}.yaml`), 'utf8');
    const lock = JSON.parse(await readFile(join(EXAMPLES_DIR, `${name}.lock.json`), 'utf8')) as { spec: { sha256: string } };
    assert.equal(lock.spec.sha256, specTextSha256(text), `examples/${name}.lock.json records another text of examples/${name}.yaml: run \`strata lock examples/${name}.yaml\` and refresh the golden digests`);
  }
});

// Every single-platform example; multiarch has its own tests below.
for (const name of Object.keys(CHECKS).filter((n) => n !== 'multiarch')) {
  describe(`examples/${name}.yaml`, () => {
    test('builds to its golden digest', async () => {
      const b = await built(name);
      assert.equal(
        b.result.digest,
        golden[name],
        `examples/${name}.yaml built ${b.result.digest}, but test/golden-digests.json has ${golden[name]}. If the change is intended ` +
          '(a new lock, a strata change that alters bytes), refresh the golden digests: node scripts/update-golden-digests.mjs (docs/examples.md)',
      );
      assert.equal(b.result.platforms.length, 1);
      const compressed = b.result.platforms[0]!.layers.reduce((n, l) => n + l.size, 0);
      if (TARGET_MB[name] !== undefined) assert.ok(compressed <= TARGET_MB[name]! * 1e6, `examples/${name}.yaml is ${(compressed / 1e6).toFixed(2)} MB compressed; the target is ${TARGET_MB[name]!.toFixed(2)} MB (docs/sizes.md)`);
      assert.deepEqual(b.result.platforms[0]!.layers.filter((l) => l.kind === 'packages').flatMap((l) => l.packages).sort(), b.lock.architectures.amd64!.packages.map((p) => p.name).sort(), 'every locked package has its layer');
    });

    test('strata\'s validator and oci-image-tool validate the layout, and skopeo reads it', async () => {
      const dir = await layout(name);
      const b = await built(name);
      assert.deepEqual((await validateLayout(dir, { canonical: true })).problems, []);
      const v = await run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=latest', dir]);
      assert.equal(v.code, 0, output(v));
      assert.match(v.stdout + v.stderr, /Validation succeeded/);
      const inspect = JSON.parse((await runOk('skopeo', ['inspect', `oci:${dir}:latest`])).stdout) as { Digest: string; Architecture: string; Layers: string[] };
      assert.equal(inspect.Digest, b.result.digest);
      assert.equal(inspect.Architecture, 'amd64');
      assert.deepEqual(inspect.Layers, b.result.platforms[0]!.layers.map((l) => l.digest));
    });

    test(`umoci unpacks it and ${CHECKS[name]!.map((c) => c.what).join('; ')} under bwrap`, async (t) => {
      const dir = await layout(name);
      const b = await built(name);
      const rootfs = await unpack(dir, 'latest', t);
      await runChecks(name, rootfs, b.result.image.platforms[0]!.config.config, t);
    });
  });
}

/** Loads a docker-archive of the example into podman under a unique name; removed after the test. */
async function podmanLoad(name: string, t: TestContext): Promise<{ image: string; b: BuiltExample; containers: string[] }> {
  const b = await built(name);
  const tag = `t${randomBytes(6).toString('hex')}`;
  const file = join(work, `${name}-${tag}.docker.tar`);
  await writeDockerArchive(file, b.result.image, `strata-test/${name}:${tag}`, b.result.epoch);
  const image = `localhost/strata-test/${name}:${tag}`;
  const containers: string[] = [];
  t.after(async () => {
    for (const c of containers) await run('podman', ['rm', '-f', '-t', '0', c]);
    await run('podman', ['rmi', '-f', image]);
  });
  const load = await runOk('podman', ['load', '-i', file]);
  assert.match(load.stdout + load.stderr, new RegExp(`Loaded image.*${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const id = (await runOk('podman', ['image', 'inspect', '--format', '{{.Id}}', image])).stdout.trim();
  assert.equal(`sha256:${id}`, b.result.platforms[0]!.configDigest, 'podman sees the same config (image ID) as the OCI build');
  return { image, b, containers };
}

const PODMAN_RUN = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--network=none'];

async function untilOk(fn: () => Promise<RunResult>, ok: (r: RunResult) => boolean, ms: number): Promise<RunResult> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await fn();
    if (ok(r) || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** The host's view of a container's main process: real and effective uid and gid (as root, no user namespace). */
async function hostIds(container: string): Promise<string[] | undefined> {
  if (process.getuid?.() !== 0) return undefined; // rootless podman maps IDs; the names podman top shows still hold
  const pid = (await runOk('podman', ['inspect', '--format', '{{.State.Pid}}', container])).stdout.trim();
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return [/^Uid:\s+(\d+)/m.exec(status)![1]!, /^Gid:\s+(\d+)/m.exec(status)![1]!];
}

describe('examples/redis.yaml in podman', () => {
  test('the docker-archive loads with the same config digest, and redis runs as uid 999 and answers PING', async (t) => {
    const { image, b, containers } = await podmanLoad('redis', t);
    assert.equal(b.result.image.platforms[0]!.config.config.User, '999:999');
    const name = `strata-test-redis-${randomBytes(4).toString('hex')}`;
    containers.push(name);
    // The image has no shell: the server runs detached and redis-cli is exec'd beside it.
    await runOk('podman', ['run', '-d', '--name', name, ...PODMAN_RUN, image]);
    const ping = await untilOk(() => run('podman', ['exec', name, 'redis-cli', 'ping']), (r) => r.stdout.trim() === 'PONG', 15_000);
    assert.equal(ping.stdout.trim(), 'PONG', `redis-cli ping\n${output(ping)}\n--- logs\n${(await run('podman', ['logs', name])).stderr}`);
    const top = (await runOk('podman', ['top', name, 'user', 'group', 'args'])).stdout.trim().split('\n').slice(1);
    assert.ok(top.length >= 1 && top.every((l) => /^redis\s+redis\s+\/usr\/bin\/redis-server/.test(l)), `podman top: ${top.join(' | ')}`);
    const ids = await hostIds(name);
    if (ids !== undefined) assert.deepEqual(ids, ['999', '999']);
  });
});

describe('examples/nginx.yaml in podman', () => {
  test('nginx -t passes as www-data with the image\'s real owners, and the server starts and stays up', async (t) => {
    const { image, b, containers } = await podmanLoad('nginx', t);
    assert.equal(b.result.image.platforms[0]!.config.config.User, '33:33');
    // umoci --rootless and bwrap flatten owners; podman keeps them, so this is the non-root test.
    const test = await run('podman', ['run', '--rm', ...PODMAN_RUN, '--entrypoint', '/usr/sbin/nginx', image, '-t']);
    assert.equal(test.code, 0, output(test));
    assert.match(test.stderr, /test is successful/);
    assert.doesNotMatch(test.stderr, /\[(emerg|alert|crit)\]/, output(test));
    const name = `strata-test-nginx-${randomBytes(4).toString('hex')}`;
    containers.push(name);
    await runOk('podman', ['run', '-d', '--name', name, ...PODMAN_RUN, image]);
    const top = await untilOk(() => run('podman', ['top', name, 'user', 'args']), (r) => /worker process/.test(r.stdout), 10_000);
    const procs = top.stdout.trim().split('\n').slice(1);
    assert.ok(procs.some((l) => /nginx: master process/.test(l)) && procs.some((l) => /nginx: worker process/.test(l)), `podman top\n${output(top)}`);
    assert.ok(procs.every((l) => l.startsWith('www-data ')), `every nginx process runs as www-data: ${procs.join(' | ')}`);
    const running = (await runOk('podman', ['inspect', '--format', '{{.State.Running}}', name])).stdout.trim();
    const logs = await run('podman', ['logs', name]);
    assert.equal(running, 'true', `nginx exited\n${output(logs)}`);
    assert.doesNotMatch(logs.stdout + logs.stderr, /\[(emerg|alert|crit)\]/, output(logs));
    const ids = await hostIds(name);
    if (ids !== undefined) assert.deepEqual(ids, ['33', '33']);
  });
});

describe('examples/multiarch.yaml', () => {
  test('builds to its golden digest: an index of amd64 and arm64 sharing the tzdata layer', async () => {
    const b = await built('multiarch');
    assert.equal(b.result.digest, golden.multiarch, `examples/multiarch.yaml built ${b.result.digest}, but test/golden-digests.json has ${golden.multiarch} (docs/examples.md)`);
    assert.deepEqual(b.result.platforms.map((p) => p.architecture), ['amd64', 'arm64']);
    const tz = b.result.platforms.map((p) => p.layers.find((l) => l.packages.includes('tzdata'))!.digest);
    assert.equal(tz[0], tz[1], 'an Architecture: all package is the same layer on both platforms');
    const bb = b.result.platforms.map((p) => p.layers.find((l) => l.packages.includes('busybox-static'))!.digest);
    assert.notEqual(bb[0], bb[1]);
  });

  test('the layout root is an index with both platforms; skopeo selects each, unchanged', async (t) => {
    const dir = await layout('multiarch');
    const b = await built('multiarch');
    const v = await run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=latest', dir]);
    assert.equal(v.code, 0, output(v));
    const raw = JSON.parse((await runOk('skopeo', ['inspect', '--raw', `oci:${dir}:latest`])).stdout) as { mediaType: string; manifests: Array<{ digest: string; platform: { architecture: string; os: string; variant?: string } }> };
    assert.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      raw.manifests.map((m) => [m.platform.os, m.platform.architecture, m.platform.variant ?? '', m.digest]),
      [
        ['linux', 'amd64', '', b.result.platforms[0]!.manifestDigest],
        ['linux', 'arm64', 'v8', b.result.platforms[1]!.manifestDigest],
      ],
    );
    // Each platform on its own: what a runtime on that machine pulls. skopeo copies the
    // manifest byte for byte, so the single-platform layout has the index's manifest digest.
    for (const [arch, i, extra] of [['amd64', 0, []], ['arm64', 1, ['--override-variant', 'v8']]] as const) {
      const single = join(work, `multiarch-${arch}.oci`);
      await runOk('skopeo', ['copy', '--override-arch', arch, ...extra, `oci:${dir}:latest`, `oci:${single}:latest`]);
      const m = JSON.parse((await runOk('skopeo', ['inspect', `oci:${single}:latest`])).stdout) as { Digest: string; Architecture: string };
      assert.deepEqual([m.Architecture, m.Digest], [arch, b.result.platforms[i]!.manifestDigest]);
      const vs = await run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=latest', single]);
      assert.equal(vs.code, 0, output(vs));
      const rootfs = await unpack(single, 'latest', t);
      const elf = await open(join(rootfs, 'usr/bin/busybox'), 'r');
      const head = Buffer.alloc(20);
      await elf.read(head, 0, 20, 0);
      await elf.close();
      assert.equal(head.readUInt16LE(18), arch === 'amd64' ? 62 : 183, `${arch}'s busybox is a ${arch} ELF binary (e_machine)`);
      if (arch === 'amd64') await runChecks('multiarch', rootfs, b.result.image.platforms[0]!.config.config, t);
    }
  });
});

describe('a lock whose .deb the mirror dropped', () => {
  test('fails saying so and pointing to strata lock --update', async (t) => {
    const dir = await tempDir(t, 'strata-gone-');
    await copyFile(join(EXAMPLES_DIR, 'busybox.yaml'), join(dir, 'busybox.yaml'));
    const lock = JSON.parse(await readFile(join(EXAMPLES_DIR, 'busybox.lock.json'), 'utf8'));
    const pkg = lock.architectures.amd64.packages[0];
    // A version the pool never had, with a digest no cache holds.
    pkg.version = '1:0.0-0strata-gone';
    pkg.filename = pkg.filename.replace(/_[^_]+_amd64\.deb$/, '_0.0-0strata-gone_amd64.deb');
    pkg.sha256 = randomBytes(32).toString('hex');
    await writeFile(join(dir, 'busybox.lock.json'), formatLockfile(lock));
    await mkdir(join(dir, 'cache'));
    await assert.rejects(buildExample(join(dir, 'busybox.yaml'), join(dir, 'cache')), (e: Error) => {
      assert.match(e.message, /the mirror no longer has the locked \.deb of busybox-static/);
      assert.match(e.message, /strata lock --update/);
      assert.match(e.message, /0\.0-0strata-gone/);
      return true;
    });
  });
});
