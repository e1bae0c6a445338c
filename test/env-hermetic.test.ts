// `strata shell`, `strata run` and `strata cache` through the real CLI and the real bwrap,
// against a signed archive served on 127.0.0.1 whose bash and libc are this machine's own
// (helpers/env-fixture.ts): ad-hoc locks kept in the cache until --update, exit codes, stdin
// and files passing through, the image's user, env, workdir and entrypoint, volumes and the
// network switch, images (OCI layouts, oci- and docker-archives, registry references — a
// docker-registry and strata serve's on-demand images), a
// hostile layer, and every refusal with its message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tarToBuffer } from '../src/archive/tar-writer.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { startEnvArchive, type EnvArchive } from './helpers/env-fixture.js';
import { startRegistry } from './helpers/registry.js';
import { writeOneLayerLayout } from './helpers/one-layer-layout.js';
import { CacheDir } from '../src/cache/cache-dir.js';
import { defaultServerConfig } from '../src/server/config.js';
import { startServer } from '../src/server/serve.js';
import { FsStore } from '../src/store/fs-store.js';

let work: string;
let fixture: EnvArchive;
let cache: string;
let home: string;
let project: string;
let spec: string;

const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

function strata(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runCli(args, {
    cwd: opts.cwd ?? project,
    input: opts.input ?? '',
    env: { STRATA_APT_ETC: fixture.aptEtc, STRATA_CACHE_DIR: cache, HOME: home, STRATA_HTTP_RETRIES: '1', ...opts.env },
  });
}

before(async () => {
  work = await tempDir(undefined, 'strata-env-');
  fixture = await startEnvArchive(work);
  cache = join(work, 'cache');
  home = join(work, 'home');
  project = join(work, 'project');
  await mkdir(home);
  await mkdir(project);
  spec = join(work, 'app.yaml');
  await writeFile(
    spec,
    [
      'source:',
      `  mirror: ${fixture.server.url}`,
      '  suites: [fixture]',
      `  keyring: ${fixture.archive.keyring}`,
      'packages: [fixtool, bash]',
      'accounts:',
      '  groups: [{name: app, gid: 10001}]',
      '  users: [{name: app, uid: 10001, gid: 10001, home: /app, shell: /bin/bash}]',
      '  run-as: app',
      'entrypoint: [/usr/bin/fixtool]',
      'cmd: [default-arg]',
      'env: {GREETING: hello}',
      'workdir: /app',
      'paths:',
      '  - {path: /app, type: directory, uid: 10001, gid: 10001, mode: "0755"}',
      '',
    ].join('\n'),
  );
  const locked = await strata(['lock', spec]);
  assert.equal(locked.code, 0, show(locked));
});

after(async () => {
  await fixture?.server.close();
  const { rm } = await import('node:fs/promises');
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('strata shell PKG…', () => {
  test('runs a command of the locked closure, adding bash to a closure without a shell', async () => {
    const r = await strata(['shell', 'fixtool', '--', 'fixtool', 'a', 'b']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'fixtool 1.0: a b\n');
    assert.match(r.stderr, /fixtool has no shell; the environment adds bash/);
    const lock = JSON.parse((await strata(['shell', 'fixtool', '--print-lock'])).stdout) as { architectures: Record<string, { packages: Array<{ name: string; version: string }> }> };
    assert.deepEqual(lock.architectures.amd64!.packages.map((p) => `${p.name} ${p.version}`), ['bash 5.2.15-2', 'fixtool 1.0', 'libc6 2.36-9', 'libtinfo6 6.4-4']);
  });

  test('the lock stays in the cache: no archive request on the next start, the same versions after a new release, new ones with --update', async () => {
    const before = fixture.server.requests.length;
    const again = await strata(['shell', 'fixtool', '--', 'fixtool']);
    assert.equal(again.code, 0, show(again));
    assert.equal(fixture.server.requests.length, before, `a warm start asks the archive nothing: ${fixture.server.requests.slice(before).join(', ')}`);
    await fixture.publishFixtool('2.0');
    const kept = await strata(['shell', 'fixtool', '--', 'fixtool']);
    assert.equal(kept.stdout, 'fixtool 1.0: \n', show(kept));
    const updated = await strata(['shell', 'fixtool', '--update', '--', 'fixtool']);
    assert.equal(updated.code, 0, show(updated));
    assert.equal(updated.stdout, 'fixtool 2.0: \n');
    const after = await strata(['shell', 'fixtool', '--', 'fixtool']);
    assert.equal(after.stdout, 'fixtool 2.0: \n', 'the updated lock is the one kept');
  });

  test('stdin, stdout and the exit code pass through; the current directory is mounted read-write with the invoker as owner', async () => {
    const script = 'read line; echo "got:$line"; echo made > made.txt; echo "$HOME|$PWD|$USER|$debian_chroot"; exit 42';
    const r = await strata(['shell', 'fixtool', '--', 'bash', '-c', script], { input: 'hello\n' });
    assert.equal(r.code, 42, show(r));
    const [got, facts] = r.stdout.trim().split('\n');
    assert.equal(got, 'got:hello');
    const me = (await import('node:os')).userInfo().username;
    assert.equal(facts, `${home}|${project}|${me}|strata:fixtool`);
    const st = await stat(join(project, 'made.txt'));
    assert.deepEqual([st.uid, st.gid], [process.getuid!(), process.getgid!()]);
  });

  test('HOME is empty, private and writable; the rest of the environment is read-only', async () => {
    await writeFile(join(home, '.dotfile'), 'from the host');
    const script = 'shopt -s nullglob dotglob; f=(~/*); echo "home:${#f[@]}"; echo x > ~/new && echo home-writable; (echo x > /usr/bin/x) 2>/dev/null || echo usr-read-only; (echo x > /new) 2>/dev/null || echo root-read-only; echo x > /tmp/t && echo tmp-writable';
    const r = await strata(['shell', 'fixtool', '--', 'bash', '-c', script]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(r.stdout.trim().split('\n'), ['home:0', 'home-writable', 'usr-read-only', 'root-read-only', 'tmp-writable']);
    assert.deepEqual(await readdir(home), ['.dotfile'], 'nothing written to HOME inside reaches the host');
  });

  test('a command that is not in the environment exits 127 and lists what is there', async () => {
    const r = await strata(['shell', 'fixtool', '--', 'fixtoo']);
    assert.equal(r.code, 127, show(r));
    assert.match(r.stderr, /fixtoo: no such command in the environment fixtool/);
    assert.match(r.stderr, /did you mean fixtool\?/);
    assert.match(r.stderr, /has 2 commands: bash, fixtool/);
    const inside = await strata(['shell', 'fixtool', '--', 'bash', '-c', 'nosuch']);
    assert.equal(inside.code, 127, 'a shell inside reports its own 127 too');
  });

  test('an unknown package fails before anything starts, naming it', async () => {
    const r = await strata(['shell', 'fixtool', 'nosuchpkg', '--', 'fixtool']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /error\[PACKAGE_UNKNOWN\]/);
    assert.match(r.stderr, /nosuchpkg/);
    const bad = await strata(['shell', 'Bad_Name']);
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /not a valid Debian package name/);
  });

  test('without bubblewrap, the message names the package to install', async () => {
    const r = await strata(['shell', 'fixtool', '--', 'fixtool'], { env: { PATH: join(work, 'no-such-dir') } });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /bubblewrap \(bwrap\) is not installed/);
    assert.match(r.stderr, /apt-get install bubblewrap/);
  });
});

describe('strata shell SPEC and strata run SPEC', () => {
  test('run with no command starts the entrypoint and cmd, as the image\'s user, in its workdir, with its env', async () => {
    const r = await strata(['run', spec]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'fixtool 1.0: default-arg\n');
    const facts = await strata(['run', spec, '--', 'bash', '-c', 'echo "$UID:$(id -g 2>/dev/null || echo -) $GREETING $PWD $HOME"']);
    assert.equal(facts.stdout.split(' ').slice(1).join(' '), 'hello /app /app\n', show(facts));
    assert.match(facts.stdout, /^10001:/);
  });

  test('--user, --workdir, --env, --args and --entrypoint override the image', async () => {
    const o = await strata(['run', spec, '--user', '0', '--workdir', '/tmp', '--env', 'GREETING=bye', '--env', 'EXTRA=1', '--', 'bash', '-c', 'echo "$UID $PWD $GREETING $EXTRA"']);
    assert.equal(o.stdout, '0 /tmp bye 1\n', show(o));
    const args = await strata(['run', spec, '--args', '--', 'x', 'y']);
    assert.equal(args.stdout, 'fixtool 1.0: x y\n', show(args));
    const ep = await strata(['run', spec, '--entrypoint', '/bin/bash', '--', '-c', 'echo from-entrypoint']);
    assert.equal(ep.stdout, 'from-entrypoint\n', show(ep));
  });

  test('a volume is writable by the image\'s user and its files belong to the invoker; :ro is read-only', async () => {
    const data = await tempDir(undefined, 'strata-vol-');
    await chmod(data, 0o755);
    const rw = await strata(['run', spec, '--volume', `${data}:/data`, '--', 'bash', '-c', 'echo written > /data/out && echo ok']);
    assert.equal(rw.code, 0, show(rw));
    const st = await stat(join(data, 'out'));
    assert.deepEqual([st.uid, await readFile(join(data, 'out'), 'utf8')], [process.getuid!(), 'written\n']);
    const ro = await strata(['run', spec, '--volume', `${data}:/data:ro`, '--', 'bash', '-c', '(echo x > /data/other) 2>/dev/null || echo refused']);
    assert.equal(ro.stdout, 'refused\n', show(ro));
    const bad = await strata(['run', spec, '--volume', 'relative-missing:/x', '--', 'true']);
    assert.equal(bad.code, 2, show(bad));
  });

  test('--network none cuts the network; the default shares the host\'s', async () => {
    const port = new URL(fixture.server.url).port;
    const probe = `(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo connected || echo unreachable`;
    const host = await strata(['run', spec, '--', 'bash', '-c', probe]);
    assert.equal(host.stdout, 'connected\n', show(host));
    const none = await strata(['run', spec, '--network', 'none', '--', 'bash', '-c', probe]);
    assert.equal(none.stdout, 'unreachable\n', show(none));
  });

  test('strata shell SPEC runs as the invoker, not as the image\'s user', async () => {
    const r = await strata(['shell', spec, '--', 'bash', '-c', 'echo "$UID $PWD"']);
    assert.equal(r.stdout, `${process.getuid!()} ${project}\n`, show(r));
  });

  test('a missing spec, a stale lock and a missing working directory are refused', async () => {
    const missing = await strata(['run', join(work, 'nope.yaml'), '--', 'true']);
    assert.equal(missing.code, 1, show(missing));
    assert.match(missing.stderr, /SPEC_NOT_FOUND/);
    const stale = join(work, 'stale.yaml');
    await writeFile(stale, (await readFile(spec, 'utf8')).replace('packages: [fixtool, bash]', 'packages: [fixtool]'));
    await writeFile(join(work, 'stale.lock.json'), await readFile(join(work, 'app.lock.json')));
    const r = await strata(['run', stale, '--', 'fixtool']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /LOCK_STALE/);
    const wd = await strata(['run', spec, '--workdir', '/nowhere', '--', 'fixtool']);
    assert.equal(wd.code, 2, show(wd));
    assert.match(wd.stderr, /\/nowhere is not a directory of the environment/);
  });
});

describe('strata run IMAGE (an OCI layout, an archive, a registry reference)', () => {
  test('the layout of the spec runs, and shares the spec\'s environment (same layers, one tree)', async () => {
    const layout = join(work, 'app.oci');
    const b = await strata(['build', spec, '-o', layout]);
    assert.equal(b.code, 0, show(b));
    const r = await strata(['run', `${layout}:latest`, '--', 'fixtool', 'from-layout']);
    assert.equal(r.stdout, 'fixtool 1.0: from-layout\n', show(r));
    const ls = JSON.parse((await strata(['cache', 'ls', '--json'])).stdout) as { environments: Array<{ targets: Array<{ kind: string; name: string }> }> };
    const shared = ls.environments.find((e) => e.targets.some((t) => t.kind === 'image') && e.targets.some((t) => t.kind === 'spec'));
    assert.ok(shared !== undefined, JSON.stringify(ls, null, 2));
  });

  test('an oci-archive, a docker-archive and a layout with SBOMs beside the image run the same environment', async () => {
    const archive = join(work, 'app-oci.tar');
    const docker = join(work, 'app-docker.tar');
    const withSbom = join(work, 'sbom', 'app.oci');
    for (const [format, out, extra] of [['oci-archive', archive, []], ['docker-archive', docker, []], ['oci', withSbom, ['--sbom']]] as const) {
      const b = await strata(['build', spec, '--format', format, '-o', out, ...extra]);
      assert.equal(b.code, 0, show(b));
    }
    for (const ref of [archive, `oci-archive:${archive}`, docker, withSbom]) {
      const r = await strata(['run', ref, '--', 'fixtool', 'from-archive']);
      assert.equal(r.stdout, 'fixtool 1.0: from-archive\n', `${ref}\n${show(r)}`);
    }
    // The layers are unpacked once: the docker-archive (named by its config, having no
    // manifest) shares the spec's environment, like the OCI forms (named by the manifest).
    const ls = JSON.parse((await strata(['cache', 'ls', '--json'])).stdout) as { environments: Array<{ targets: Array<{ kind: string; name: string }> }> };
    const shared = ls.environments.filter((e) => e.targets.some((t) => t.name === docker) && e.targets.some((t) => t.kind === 'spec'));
    assert.equal(shared.length, 1, JSON.stringify(ls, null, 2));
  });

  test('an image in a registry runs from its reference, over plain HTTP on loopback only with --insecure', async (t) => {
    const layout = join(work, 'app.oci');
    if (!(await stat(layout).catch(() => undefined))) assert.equal((await strata(['build', spec, '-o', layout])).code, 0);
    const reg = await startRegistry(t);
    const ref = `${reg.host}/fixture/app:1`;
    const pushed = await strata(['push', layout, ref, '--insecure']);
    assert.equal(pushed.code, 0, show(pushed));
    const r = await strata(['run', ref, '--insecure', '--', 'fixtool', 'from-registry']);
    assert.equal(r.stdout, 'fixtool 1.0: from-registry\n', show(r));
    const tls = await strata(['run', ref, '--', 'fixtool']);
    assert.equal(tls.code, 1, show(tls));
    assert.match(tls.stderr, /--insecure/);
    const missing = await strata(['run', `${reg.host}/fixture/none:1`, '--insecure', '--', 'fixtool']);
    assert.equal(missing.code, 1, show(missing));
    assert.match(missing.stderr, /MANIFEST_UNKNOWN|NAME_UNKNOWN/);
  });

  test('an image strata serve builds on demand runs from its registry name, with no engine', async (t) => {
    const config = defaultServerConfig();
    config.listen = '127.0.0.1:0';
    config.source = { mirror: fixture.server.url, suites: ['fixture'], keyring: fixture.archive.keyring };
    config.refreshSeconds = 0;
    const server = await startServer({ config, store: await FsStore.open(join(work, 'serve-store')), cache: await CacheDir.open(join(work, 'serve-cache')), workers: 1 });
    t.after(() => server.close());
    const host = server.url.replace(/^http:\/\//, '');
    // fixtool is a bash script and depends on nothing: alone, its interpreter is missing, and
    // the message says so (not bwrap's "execvp: No such file or directory").
    const alone = await strata(['run', `${host}/fixtool`, '--insecure', '--', 'fixtool', 'from-serve']);
    assert.equal(alone.code, 127, show(alone));
    assert.match(alone.stderr, /fixtool: it needs \/bin\/bash, which is not in the environment/);
    // With bash in the set, it runs: the server locked and built the image on the first pull.
    const first = await strata(['run', `${host}/fixtool/bash`, '--insecure', '--', 'fixtool', 'from-serve']);
    // (An earlier test published fixtool 2.0 to the archive; the server locks what is there now.)
    assert.match(first.stdout, /^fixtool [0-9.]+: from-serve\n$/, show(first));
    const nonroot = await strata(['run', `${host}/nonroot/fixtool/bash`, '--insecure', '--', 'bash', '-c', 'echo $UID']);
    assert.equal(nonroot.stdout, '65532\n', show(nonroot));
    const unknown = await strata(['run', `${host}/no-such-tool`, '--insecure', '--', 'true']);
    assert.equal(unknown.code, 1, show(unknown));
    assert.match(unknown.stderr, /no package named no-such-tool/);
  });

  test('a layer that climbs out with ".." is refused and writes nothing outside the cache', async () => {
    const layout = join(work, 'evil.oci');
    const victim = join(work, 'victim');
    const tar = await tarToBuffer([
      { entry: { path: 'etc', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 } },
      { entry: { path: `etc/../../../../../../../../..${victim}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 2, mtime: 0 }, content: Buffer.from('x\n') },
    ]);
    await writeOneLayerLayout(layout, tar);
    const r = await strata(['run', layout, '--', '/bin/sh']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /IMAGE_INVALID.*climbs out of the layer/);
    await assert.rejects(stat(victim), 'nothing was written outside');
  });
});

describe('strata cache', () => {
  test('ls names what each environment came from, du counts every area, gc --all frees them, and the next start rebuilds offline', async () => {
    const ls = await strata(['cache', 'ls']);
    assert.equal(ls.code, 0, show(ls));
    assert.match(ls.stdout, /adhoc fixtool, 4 packages/);
    assert.match(ls.stdout, /spec .*app\.yaml, 4 packages/);
    const du = JSON.parse((await strata(['cache', 'du', '--json'])).stdout) as { areas: Array<{ area: string; bytes: number }>; total: number };
    const area = (name: string) => du.areas.find((a) => a.area === name)!.bytes;
    assert.ok(area('unpacked layers') > 1_000_000, 'the unpacked libc and bash');
    assert.ok(area('environments') < area('unpacked layers'), 'environments are hard links: only their directories count');
    const gc = await strata(['cache', 'gc', '--all', '--json']);
    assert.equal(gc.code, 0, show(gc));
    const freed = JSON.parse(gc.stdout) as { environments: number; layers: number };
    assert.ok(freed.environments >= 2 && freed.layers >= 3, gc.stdout);
    assert.deepEqual(await readdir(join(cache, 'rootfs', 'layers')), []);
    const before = fixture.server.requests.length;
    const r = await strata(['shell', 'fixtool', '--', 'fixtool', 'again']);
    assert.equal(r.stdout, 'fixtool 2.0: again\n', show(r));
    assert.equal(fixture.server.requests.length, before, 'rebuilt from the cached lock and .debs, without the archive');
  });
});
