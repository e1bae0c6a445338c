// `strata push` and the registry client against real registries on 127.0.0.1: Debian's
// docker-registry with htpasswd auth over plain HTTP, with bearer tokens from a token server
// this test runs, and with TLS from a test CA; faults (a dropped upload, 5xx answers)
// injected by a proxy. What is pushed is pulled back with skopeo and with strata's own pull,
// and the digests compared.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readOciLayout } from '../src/image/layout-read.js';
import { pullImage, pushImage, parseReference } from '../src/image/remote/index.js';
import { isStrataError } from '../src/errors.js';
import { tempDir } from './helpers/temp.js';
import { runCli } from './helpers/cli.js';
import { run, runOk } from './helpers/examples.js';
import { buildFixtureImage, type FixtureImage } from './helpers/fixture-image.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { startFaultProxy } from './helpers/fault-proxy.js';

const PASSWORD = 'wonderland-s3cret';
const USERS = { alice: PASSWORD, bob: 'builder-pw' };
const FAST = { retries: 3, backoffMs: 20, timeoutMs: 5000 };

const cleanups: Array<() => unknown> = [];
const suite = { after: (fn: () => unknown) => cleanups.push(fn) };
let work: string;
let image: FixtureImage;

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

before(async () => {
  work = await tempDir(suite, 'strata-push-');
  image = await buildFixtureImage(work);
  cleanups.push(() => image.server.close());
});

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function push(args: string[], input?: string, env?: NodeJS.ProcessEnv) {
  return runCli(['push', ...args, '--cache-dir', image.cacheDir], { ...(input !== undefined ? { input } : {}), ...(env ? { env } : {}) });
}

async function skopeoRaw(ref: string, extra: string[]): Promise<Buffer> {
  const r = await runOk('skopeo', ['inspect', '--raw', ...extra, `docker://${ref}`]);
  return Buffer.from(r.stdout);
}

describe('htpasswd registry over plain HTTP on loopback', () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry(suite, { auth: 'htpasswd', users: USERS });
  });

  test('push SPEC builds, pushes with SBOMs and provenance attached, and skopeo reads the same digest', async () => {
    const r = await push([image.spec, `${reg.host}/team/fixapp:1.0`, '--insecure', '--username', 'alice', '--password-stdin', '--json', '-t', 'stable'], `${PASSWORD}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), 'the password is never printed');
    const out = JSON.parse(r.stdout) as { digest: string; tags: string[]; blobs: { uploaded: number }; referrers: Array<{ digest: string; artifactType: string; via: string }> };
    assert.deepEqual(out.tags, ['1.0', 'stable']);
    assert.ok(out.blobs.uploaded > 0);
    // The layout strata builds has the same digest: push SPEC is build + push.
    const layout = await readOciLayout(image.layout);
    assert.equal(out.digest, layout.root.digest);
    const creds = ['--creds', `alice:${PASSWORD}`, '--tls-verify=false'];
    for (const tag of ['1.0', 'stable']) assert.equal(sha256(await skopeoRaw(`${reg.host}/team/fixapp:${tag}`, creds)), out.digest);
    // skopeo copies it out into an OCI layout; the manifest there is the same bytes.
    const copy = join(work, 'skopeo-copy');
    await runOk('skopeo', ['copy', '--src-creds', `alice:${PASSWORD}`, '--src-tls-verify=false', `docker://${reg.host}/team/fixapp:1.0`, `oci:${copy}:x`]);
    const copied = await readOciLayout(copy, 'x');
    assert.equal(copied.root.digest, out.digest);
    // Attached: SPDX, CycloneDX and provenance, listed by the referrers tag schema (distribution 2.8 has no referrers API).
    assert.deepEqual(out.referrers.map((x) => x.artifactType).sort(), ['application/spdx+json', 'application/vnd.cyclonedx+json', 'application/vnd.in-toto+json']);
    assert.ok(out.referrers.every((x) => x.via === 'tag-schema'));
    const index = JSON.parse((await skopeoRaw(`${reg.host}/team/fixapp:${out.digest.replace(':', '-')}`, creds)).toString()) as { manifests: Array<{ digest: string; artifactType: string }> };
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), out.referrers.map((x) => x.digest).sort());
    for (const m of index.manifests) {
      const artifact = JSON.parse((await skopeoRaw(`${reg.host}/team/fixapp@${m.digest}`, creds)).toString()) as { subject: { digest: string }; artifactType: string };
      assert.equal(artifact.artifactType, m.artifactType);
      assert.ok(artifact.subject.digest === out.digest, 'single-platform: every artifact refers to the image manifest');
    }
  });

  test('a second push sends no blob again; push of the layout gives the same digest', async () => {
    const r = await push([image.layout, `${reg.host}/team/fixapp:1.0`, '--insecure', '--username', 'alice', '--password-stdin', '--json'], PASSWORD);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { digest: string; blobs: { uploaded: number; exists: number } };
    assert.equal(out.blobs.uploaded, 0);
    assert.ok(out.blobs.exists > 0);
    assert.equal(out.digest, (await readOciLayout(image.layout)).root.digest);
  });

  test('credentials from a Docker config file, and from a credential helper; refusals say why and print no secret', async () => {
    const home = await tempDir(suite, 'strata-home-');
    const docker = join(home, 'docker');
    await mkdir(docker);
    const env = { HOME: home, DOCKER_CONFIG: docker, XDG_RUNTIME_DIR: join(home, 'run'), XDG_CONFIG_HOME: join(home, 'config'), REGISTRY_AUTH_FILE: '' };
    // No credentials at all.
    let r = await push([image.layout, `${reg.host}/team/anon:1`, '--insecure'], undefined, env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /AUTH_REQUIRED/);
    assert.match(r.stderr, /docker login/);
    // auths with a wrong password: refused, and the password is not printed.
    await writeFile(join(docker, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:not-the-password').toString('base64') } } }));
    r = await push([image.layout, `${reg.host}/team/anon:1`, '--insecure'], undefined, env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /AUTH_DENIED/);
    assert.ok(!r.stderr.includes('not-the-password') && !r.stderr.includes(Buffer.from('alice:not-the-password').toString('base64')));
    // auths with the right one.
    await writeFile(join(docker, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') } } }));
    r = await push([image.layout, `${reg.host}/team/fromconfig:1`, '--insecure'], undefined, env);
    assert.equal(r.code, 0, r.stderr);
    // credsStore: docker-credential-strata-test on PATH answers for this registry only.
    const bin = join(home, 'bin');
    await mkdir(bin);
    const helper = join(bin, 'docker-credential-strata-test');
    await writeFile(helper, `#!/bin/sh\nread server\nif [ "$server" = "${reg.host}" ]; then printf '{"ServerURL":"%s","Username":"bob","Secret":"builder-pw"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi\n`);
    await chmod(helper, 0o755);
    await writeFile(join(docker, 'config.json'), JSON.stringify({ credsStore: 'strata-test' }));
    r = await push([image.layout, `${reg.host}/team/fromhelper:1`, '--insecure'], undefined, { ...env, PATH: `${bin}:${process.env.PATH}` });
    assert.equal(r.code, 0, r.stderr);
    // REGISTRY_AUTH_FILE (containers-auth.json) wins over the Docker config.
    const authFile = join(home, 'auth.json');
    await writeFile(authFile, JSON.stringify({ auths: { [`${reg.host}/team`]: { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') } } }));
    r = await push([image.layout, `${reg.host}/team/fromauthfile:1`, '--insecure'], undefined, { ...env, REGISTRY_AUTH_FILE: authFile });
    assert.equal(r.code, 0, r.stderr);
  });

  test('build --push builds, writes the layout and pushes with the SBOMs attached', async () => {
    const out = join(work, 'built-and-pushed.oci');
    const r = await runCli(['build', image.spec, '-o', out, '--cache-dir', image.cacheDir, '--push', `${reg.host}/team/built`, '--insecure', '--username', 'alice', '--password-stdin', '--json'], { input: PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { digest: string; push: { digest: string; tags: string[]; referrers: unknown[] } };
    assert.equal(res.push.digest, res.digest);
    assert.deepEqual(res.push.tags, ['latest'], 'no tag in REF means latest, as docker push does');
    assert.equal(res.push.referrers.length, 3);
    assert.equal(sha256(await skopeoRaw(`${reg.host}/team/built:latest`, ['--creds', `alice:${PASSWORD}`, '--tls-verify=false'])), res.digest);
  });

  test('--insecure is refused for a registry that is not on loopback', async () => {
    const r = await push([image.layout, 'registry.example.org/team/app:1', '--insecure']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /loopback/);
  });

  test('chunked upload resumes after a dropped connection; 5xx answers are retried; the tag comes last', async () => {
    const proxy = await startFaultProxy(reg.host);
    cleanups.push(() => proxy.close());
    const layout = await readOciLayout(image.layout);
    // Drop the second chunk's connection halfway, and fail the first manifest PUT with a 503.
    proxy.faults.push({ method: 'PATCH', path: /\/blobs\/uploads\//, dropAfterBytes: 100, skip: 1, times: 1 });
    proxy.faults.push({ method: 'PUT', path: /\/manifests\/sha256:/, status: 503, times: 1 });
    const retries: string[] = [];
    const options = { insecure: true, username: 'alice', password: PASSWORD, transport: FAST, chunkThreshold: 256, chunkSize: 300, onProgress: (p: { kind: string; reason?: string }) => (p.kind === 'retry' ? retries.push(p.reason ?? '') : undefined) };
    const r = await pushImage(`${proxy.host}/team/chunked:1.0`, layout, options);
    assert.equal(r.digest, layout.root.digest);
    const patches = proxy.log.filter((l) => l.startsWith('PATCH')).length;
    assert.ok(patches >= 3, `blobs above the threshold go up in several PATCH chunks (${patches})`);
    assert.ok(proxy.log.some((l) => /^GET \/v2\/team\/chunked\/blobs\/uploads\//.test(l)), 'after the drop, the client asked the registry where the upload stood');
    assert.ok(retries.length >= 1, 'the dropped chunk was retried');
    // Pulled back through strata's own client: same digest, and every blob verified.
    const pulled = await pullImage(`${reg.host}/team/chunked:1.0`, { dir: join(work, 'pulled-chunked'), insecure: true, username: 'alice', password: PASSWORD });
    assert.equal(pulled.digest, layout.root.digest);
    await runOk('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=1.0', join(work, 'pulled-chunked')]);

    // A tag whose PUT keeps failing is never set; the content went up by digest only.
    proxy.faults.push({ method: 'PUT', path: /\/manifests\/broken$/, status: 500, times: 100 });
    await assert.rejects(pushImage(`${proxy.host}/team/chunked:broken`, layout, { ...options, transport: { ...FAST, retries: 1 } }), (e) => isStrataError(e, 'REGISTRY_ERROR'));
    const head = await run('skopeo', ['inspect', '--raw', '--creds', `alice:${PASSWORD}`, '--tls-verify=false', `docker://${reg.host}/team/chunked:broken`]);
    assert.notEqual(head.code, 0, 'the tag does not exist');
  });
});

describe('bearer tokens from a token server', () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry(suite, {
      auth: 'token',
      users: USERS,
      // bob may pull everything but push only to team/bob-*.
      grant: (user, repo, actions) => (user === undefined ? [] : user === 'bob' && !repo.startsWith('team/bob-') ? actions.filter((a) => a === 'pull') : actions),
    });
  });

  test('push asks the token server for pull,push on the repository; pull comes back with the same digest', async () => {
    const r = await push([image.layout, `${reg.host}/team/app:1.0`, '--insecure', '--username', 'alice', '--password-stdin', '--json'], PASSWORD);
    assert.equal(r.code, 0, r.stderr);
    const digest = (JSON.parse(r.stdout) as { digest: string }).digest;
    assert.ok(reg.token!.requests.some((q) => q.user === 'alice' && q.scopes.includes('repository:team/app:pull,push') && q.service === 'strata-test-registry'));
    const pulled = await pullImage(`${reg.host}/team/app:1.0`, { dir: join(work, 'pulled-token'), insecure: true, username: 'alice', password: PASSWORD });
    assert.equal(pulled.digest, digest);
    await runOk('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=1.0', join(work, 'pulled-token')]);
    // skopeo goes through the same token flow.
    assert.equal(sha256(await skopeoRaw(`${reg.host}/team/app:1.0`, ['--creds', `alice:${PASSWORD}`, '--tls-verify=false'])), digest);
  });

  test('cross-repository mount: blobs of team/app are mounted into team/copy, not uploaded', async () => {
    const layout = await readOciLayout(image.layout);
    const before = reg.token!.requests.length;
    const r = await pushImage(`${reg.host}/team/copy:1.0`, layout, { insecure: true, username: 'alice', password: PASSWORD, mountFrom: ['team/app'], transport: FAST });
    assert.equal(r.blobs.uploaded, 0);
    assert.ok(r.blobs.mounted > 0);
    assert.ok(reg.token!.requests.slice(before).some((q) => q.scopes.includes('repository:team/app:pull') && q.scopes.includes('repository:team/copy:pull,push')));
  });

  test('remembered locations: a second push to another repository of the registry mounts the blobs without --mount-from', async () => {
    const first = await push([image.layout, `${reg.host}/team/remember-a:1`, '--insecure', '--username', 'alice', '--password-stdin', '--json'], PASSWORD);
    assert.equal(first.code, 0, first.stderr);
    const second = await push([image.layout, `${reg.host}/team/remember-b:1`, '--insecure', '--username', 'alice', '--password-stdin', '--json'], PASSWORD);
    assert.equal(second.code, 0, second.stderr);
    const blobs = (JSON.parse(second.stdout) as { blobs: { uploaded: number; mounted: number; exists: number } }).blobs;
    assert.equal(blobs.uploaded, 0);
    assert.ok(blobs.mounted > 0, JSON.stringify(blobs));
  });

  test('no credentials: AUTH_REQUIRED; a user without push rights: AUTH_DENIED', async () => {
    const anon = await push([image.layout, `${reg.host}/team/app:anon`, '--insecure'], undefined, { DOCKER_CONFIG: join(work, 'nowhere'), REGISTRY_AUTH_FILE: join(work, 'nowhere.json') });
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /AUTH_REQUIRED/);
    const bob = await push([image.layout, `${reg.host}/team/app:bob`, '--insecure', '--username', 'bob', '--password-stdin'], 'builder-pw');
    assert.equal(bob.code, 1);
    assert.match(bob.stderr, /AUTH_DENIED/);
    const ok = await push([image.layout, `${reg.host}/team/bob-app:1`, '--insecure', '--username', 'bob', '--password-stdin'], 'builder-pw');
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await push([image.layout, `${reg.host}/team/bob-app:1`, '--insecure', '--username', 'bob', '--password-stdin'], 'wrong-pw');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /AUTH_DENIED/);
    assert.ok(!wrong.stderr.includes('wrong-pw'));
  });
});

describe('TLS with a test CA', () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry(suite, { auth: 'htpasswd', tls: true, users: USERS });
  });

  test('an unknown CA is refused with a hint; --ca-cert makes it trusted; skopeo verifies the same certificate', async () => {
    const refused = await push([image.layout, `${reg.host}/team/tls:1`, '--username', 'alice', '--password-stdin'], PASSWORD);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /TLS/);
    assert.match(refused.stderr, /--ca-cert/);
    const r = await push([image.layout, `${reg.host}/team/tls:1`, '--username', 'alice', '--password-stdin', '--ca-cert', reg.caCert!, '--json'], PASSWORD);
    assert.equal(r.code, 0, r.stderr);
    const digest = (JSON.parse(r.stdout) as { digest: string }).digest;
    const certDir = join(work, 'certs');
    await mkdir(certDir, { recursive: true });
    await writeFile(join(certDir, 'ca.crt'), await readFile(reg.caCert!));
    assert.equal(sha256(await skopeoRaw(`${reg.host}/team/tls:1`, ['--creds', `alice:${PASSWORD}`, '--cert-dir', certDir])), digest);
  });
});

test('references: Docker Hub defaults, registries with ports, digests; bad ones are usage errors', () => {
  assert.deepEqual(parseReference('redis'), { registry: 'docker.io', apiHost: 'registry-1.docker.io', repository: 'library/redis', tag: 'latest' });
  assert.deepEqual(parseReference('127.0.0.1:5000/team/app:1.0'), { registry: '127.0.0.1:5000', apiHost: '127.0.0.1:5000', repository: 'team/app', tag: '1.0' });
  const d = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseReference(`ghcr.io/org/app@${d}`), { registry: 'ghcr.io', apiHost: 'ghcr.io', repository: 'org/app', digest: d });
  assert.deepEqual(parseReference('localhost/app', null), { registry: 'localhost', apiHost: 'localhost', repository: 'app' });
  for (const bad of ['', 'app/UPPER', 'app:bad tag', 'ghcr.io/org/app@sha256:abc', 'a//b']) assert.throws(() => parseReference(bad), (e) => isStrataError(e, 'USAGE'), bad);
});
