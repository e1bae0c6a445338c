// `strata lock` against the generated, signed test archive served on 127.0.0.1: the happy
// path, the resolver's rules, and every refusal of the trust chain, each with its code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir, unlink, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheDir } from '../src/cache/cache-dir.js';
import { lock } from '../src/build/lock.js';
import { loadSpec } from '../src/spec/load-spec.js';
import { isStrataError, type ErrorCode } from '../src/errors.js';
import { formatLockfile, parseLockfile, type Lockfile } from '../src/debian/lockfile.js';
import { configureSources } from '../src/build/sources.js';
import { fetchDebs, lockedPackages } from '../src/build/fetch-debs.js';
import { buildFixtureArchive, type BuiltArchive } from './helpers/fixture-archive.js';
import { serveDirectory, type ArchiveServer } from './helpers/archive-server.js';
import { MAIN_PACKAGES, UPDATES_PACKAGES } from './helpers/fixture-world.js';
import { runCli } from './helpers/cli.js';

const FAST_NET = { timeoutMs: 400, retries: 2, backoffMs: 10 };

let work: string;
let archive: BuiltArchive;
let server: ArchiveServer;

async function writeSpec(name: string, body: string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, body);
  return path;
}

function fixtureSource(extra = ''): string {
  return `source:\n  mirror: ${server.url}\n  suites: [fixture, fixture-updates]\n  keyring: ${archive.keyring}\n${extra}`;
}

async function lockSpec(body: string, opts: { cacheDir?: string; previous?: Lockfile; update?: string[] } = {}) {
  const path = await writeSpec(`spec-${Math.random().toString(36).slice(2)}.yaml`, body);
  const cache = await CacheDir.open(opts.cacheDir ?? (await mkdtemp(join(work, 'cache-'))));
  const o: Parameters<typeof lock>[1] = { cache, net: FAST_NET };
  if (opts.previous) o.previous = opts.previous;
  if (opts.update) o.update = opts.update;
  return { result: await lock(await loadSpec(path), o), cache, path };
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    assert.ok(isStrataError(e), `expected a StrataError, got ${e}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

const names = (l: Lockfile, arch = 'amd64') => l.architectures[arch]!.packages.map((p) => p.name);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strata-lock-'));
  const root = join(work, 'archive');
  archive = await buildFixtureArchive(root, [
    { suite: 'fixture', packages: MAIN_PACKAGES },
    { suite: 'fixture-updates', packages: UPDATES_PACKAGES, validUntil: 'Fri, 01 Jan 2100 00:00:00 UTC' },
  ]);
  server = await serveDirectory(root);
});

after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe('resolution', () => {
  test('a request resolves to its closure, pinned and explained', async () => {
    const { result } = await lockSpec(`${fixtureSource()}packages: [fixapp]\n`);
    const l = result.lock;
    assert.deepEqual(names(l), ['fix-data', 'fixapp', 'libfix6']);
    const lib = l.architectures.amd64!.packages.find((p) => p.name === 'libfix6')!;
    assert.equal(lib.version, '2.1-1+deb1u1', 'the highest version across suites wins');
    assert.equal(lib.suite, 'fixture-updates');
    assert.equal(lib.sha256, archive.debs.get('libfix6_2.1-1+deb1u1_amd64')!.sha256);
    const app = l.architectures.amd64!.packages.find((p) => p.name === 'fixapp')!;
    assert.deepEqual(app.depends, ['fix-data', 'libfix6']);
    assert.equal(app.requested, true);
    assert.equal(app.source, 'fixapp-src');
    assert.deepEqual(l.architectures.amd64!.excluded.map((x) => [x.name, x.requiredBy]), [
      ['adduser', ['fixapp']],
      ['init-system-helpers', ['fixapp']],
    ]);
    assert.equal(l.suites.length, 2);
    assert.equal(l.suites[0]!.signedBy.length, 1);
    assert.equal(l.epoch, 1640995200);
    assert.deepEqual(parseLockfile(formatLockfile(l), 'x'), l, 'the lockfile round-trips');
  });

  test('profile full keeps maintainer-script helpers; recommends only when asked', async () => {
    const full = (await lockSpec(`${fixtureSource()}packages: [fixapp]\nprofile: full\n`)).result.lock;
    assert.deepEqual(names(full), ['adduser', 'fix-data', 'fixapp', 'init-system-helpers', 'libfix6']);
    const rec = (await lockSpec(`${fixtureSource()}packages: [fixapp]\nrecommends: true\n`)).result.lock;
    assert.ok(names(rec).includes('fix-extras'));
  });

  test('exclude: leaves more out and records why', async () => {
    const l = (await lockSpec(`${fixtureSource()}packages: [fixapp]\nexclude: [fix-data]\n`)).result.lock;
    assert.deepEqual(names(l), ['fixapp', 'libfix6']);
    assert.match(l.architectures.amd64!.excluded.find((x) => x.name === 'fix-data')!.reason, /exclude/);
  });

  test('version constraints, suite pins and alternatives with backtracking', async () => {
    const pinned = (await lockSpec(`${fixtureSource()}packages: ["libfix6 (<< 2.0)"]\n`)).result.lock;
    assert.equal(pinned.architectures.amd64!.packages[0]!.version, '1.0-1');
    const suite = (await lockSpec(`${fixtureSource()}packages: [libfix6/fixture]\n`)).result.lock;
    assert.equal(suite.architectures.amd64!.packages[0]!.version, '2.1-1');
    // fixpick-x needs libfix6 << 2.0, but fixpin (requested first) holds 2.1-1: the solver
    // must backtrack from the first alternative to fixpick-y.
    const back = (await lockSpec(`${fixtureSource()}packages: [fixpin, fixpick]\n`)).result.lock;
    assert.deepEqual(names(back), ['fixpick', 'fixpick-y', 'fixpin', 'libfix6']);
    assert.equal(back.architectures.amd64!.packages.find((p) => p.name === 'libfix6')!.version, '2.1-1');
  });

  test('a virtual dependency picks the provider by priority then name', async () => {
    const l = (await lockSpec(`${fixtureSource()}packages: [fixmailer]\n`)).result.lock;
    assert.deepEqual(names(l), ['fixmail-a', 'fixmailer']);
    await expectCode(lockSpec(`${fixtureSource()}packages: [fix-mta]\n`), 'UNSATISFIABLE', /virtual package provided by fixmail-a, fixmail-b, fixmail-c/);
  });

  test('the closure does not depend on the order of the index', async () => {
    const a = (await lockSpec(`${fixtureSource()}packages: [fixapp, fixmailer]\n`)).result.lock;
    const shuffledRoot = join(work, 'shuffled');
    await buildFixtureArchive(shuffledRoot, [
      { suite: 'fixture', packages: [...MAIN_PACKAGES].reverse() },
      { suite: 'fixture-updates', packages: UPDATES_PACKAGES, validUntil: 'Fri, 01 Jan 2100 00:00:00 UTC' },
    ]);
    const other = await serveDirectory(shuffledRoot);
    try {
      const spec = `source:\n  mirror: ${other.url}\n  suites: [fixture, fixture-updates]\n  keyring: ${archive.keyring}\npackages: [fixapp, fixmailer]\n`;
      const b = (await lockSpec(spec)).result.lock;
      assert.deepEqual(b.architectures, a.architectures);
    } finally {
      await other.close();
    }
  });

  test('failures explain themselves', async () => {
    await expectCode(lockSpec(`${fixtureSource()}packages: [fixap]\n`), 'PACKAGE_UNKNOWN', /did you mean fixapp/);
    // A name that exists at other versions is not "unknown": the versions there are listed.
    await expectCode(lockSpec(`${fixtureSource()}packages: ["fixapp (>= 2:0)"]\n`), 'UNSATISFIABLE', /fixapp \(>= 2:0\): available [^ ]+ \(fixture[^)]*\).*none satisfies it/);
    const e = await expectCode(lockSpec(`${fixtureSource()}packages: [fixchain]\n`), 'UNSATISFIABLE', /libfix6 \(>= 9\.0\)/);
    assert.match(e.message, /fixchain → fixbroken/);
    assert.match(e.message, /2\.1-1\+deb1u1 \(fixture-updates\)/);
    await expectCode(lockSpec(`${fixtureSource()}packages: [fixmissing]\n`), 'UNSATISFIABLE', /no package libnothere1/);
    await expectCode(lockSpec(`${fixtureSource()}packages: [fixconf-a, fixconf-b]\n`), 'CONFLICT', /fixconf-b/);
    await expectCode(lockSpec(`${fixtureSource()}packages: [fixapp/nosuch]\n`), 'SPEC_INVALID', /not configured/);
  });
});

describe('trust chain', () => {
  test('a tampered InRelease is refused', async () => {
    const inRelease = await readFile(join(archive.root, 'dists/fixture/InRelease'), 'utf8');
    server.faults.set('dists/fixture/InRelease', { body: Buffer.from(inRelease.replace('Version: 1.0', 'Version: 1.1')) });
    try {
      await expectCode(lockSpec(`${fixtureSource()}packages: [fixapp]\n`), 'SIGNATURE_INVALID');
    } finally {
      server.faults.clear();
    }
  });

  test('a signature by a key outside the keyring is refused, naming the key', async () => {
    const spec = `source:\n  mirror: ${server.url}\n  suites: [fixture]\n  keyring: ${archive.strangerKeyring}\npackages: [fixapp]\n`;
    await expectCode(lockSpec(spec), 'SIGNATURE_UNKNOWN_KEY', /signed only by key [0-9A-F]{16}/);
  });

  test('a garbage InRelease is refused as not signed', async () => {
    server.faults.set('dists/fixture/InRelease', { body: Buffer.from('<html>captive portal</html>') });
    try {
      await expectCode(lockSpec(`${fixtureSource()}packages: [fixapp]\n`), 'RELEASE_INVALID', /not a clearsigned/);
    } finally {
      server.faults.clear();
    }
  });

  test('an index that does not match InRelease is refused before parsing', async () => {
    const real = await readFile(join(archive.root, 'dists/fixture/main/binary-amd64/Packages.xz'));
    const forged = Buffer.from(real);
    forged[forged.length - 20] = forged[forged.length - 20]! ^ 0xff;
    server.faults.set('Packages.xz', { body: forged });
    server.faults.set(`by-hash/SHA256/${await sha(real)}`, { body: forged });
    try {
      await expectCode(lockSpec(`${fixtureSource()}packages: [fixapp]\n`), 'INDEX_HASH_MISMATCH');
    } finally {
      server.faults.clear();
    }
  });

  test('an expired Valid-Until is refused when resolving', async () => {
    const root = join(work, 'expired');
    await buildFixtureArchive(root, [{ suite: 'fixture', packages: MAIN_PACKAGES.slice(0, 3), validUntil: 'Sat, 01 Jan 2022 00:00:00 UTC' }]);
    const s = await serveDirectory(root);
    try {
      const spec = `source:\n  mirror: ${s.url}\n  suites: [fixture]\n  keyring: ${archive.keyring}\npackages: [libfix6]\n`;
      await expectCode(lockSpec(spec), 'RELEASE_EXPIRED', /Valid-Until/);
    } finally {
      await s.close();
    }
  });

  test('an InRelease for another suite is refused', async () => {
    const other = await readFile(join(archive.root, 'dists/fixture-updates/InRelease'));
    server.faults.set('dists/fixture/InRelease', { body: other });
    try {
      await expectCode(lockSpec(`${fixtureSource()}packages: [fixapp]\n`), 'RELEASE_INVALID', /not fixture/);
    } finally {
      server.faults.clear();
    }
  });
});

async function sha(b: Buffer): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(b).digest('hex');
}

describe('network faults', () => {
  test('500s that recover are retried', async () => {
    server.faults.set('dists/fixture/InRelease', { status: 500, times: 2 });
    const before = server.requests.filter((r) => r.endsWith('dists/fixture/InRelease')).length;
    await lockSpec(`${fixtureSource()}packages: [fixapp]\n`);
    const after = server.requests.filter((r) => r.endsWith('dists/fixture/InRelease')).length;
    assert.equal(after - before, 3);
  });

  test('persistent 500s fail with the status after the retries', async () => {
    server.faults.set('dists/fixture/InRelease', { status: 503 });
    try {
      await expectCode(lockSpec(`${fixtureSource()}packages: [fixapp]\n`), 'FETCH_FAILED', /HTTP 503.*after 3 attempts/);
    } finally {
      server.faults.clear();
    }
  });

  test('a truncated body is retried, and refused when it stays truncated', async () => {
    server.faults.set('dists/fixture/InRelease', { truncateTo: 100, times: 1 });
    const { result } = await lockSpec(`${fixtureSource()}packages: [fixapp]\n`);
    assert.ok(names(result.lock).includes('fixapp'));
    assert.equal(server.faults.size, 0, 'the fault was hit once');
    server.faults.set('dists/fixture/InRelease', { truncateTo: 50 });
    try {
      await expectCode(lockSpec(`${fixtureSource()}packages: [fixapp]\n`), 'FETCH_TRUNCATED', /closed before the end of the body|ended after 50 of/);
    } finally {
      server.faults.clear();
    }
  });

  test('a server that never answers times out', async () => {
    server.faults.set('dists/fixture/InRelease', { hang: true });
    const started = Date.now();
    try {
      await expectCode(lockSpec(`${fixtureSource()}packages: [fixapp]\n`), 'FETCH_TIMEOUT', /sent nothing for 400 ms/);
    } finally {
      server.faults.clear();
    }
    assert.ok(Date.now() - started < 10_000);
  });

  test('an unreachable mirror says so', async () => {
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const spec = `source:\n  mirror: http://127.0.0.1:${port}\n  suites: [fixture]\n  keyring: ${archive.keyring}\npackages: [fixapp]\n`;
    await expectCode(lockSpec(spec), 'NETWORK_UNREACHABLE', /ECONNREFUSED/);
  });
});

describe('fetch and fallbacks', () => {
  test('fetch verifies every .deb; a tampered .deb is refused and nothing is kept', async () => {
    const { result, cache, path } = await lockSpec(`${fixtureSource()}packages: [fixapp]\n`);
    const pkgs = lockedPackages(result.lock);
    const app = pkgs.find((p) => p.name === 'fixapp')!;
    const real = await readFile(join(archive.root, app.filename));
    const forged = Buffer.from(real);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 1;
    server.faults.set(app.filename, { body: forged });
    const sources = await configureSources(await loadSpec(path));
    try {
      await expectCode(fetchDebs(pkgs, sources, { cache, net: FAST_NET }), 'DEB_HASH_MISMATCH', /fixapp/);
      assert.equal(await cache.hasBlob(app.sha256), false);
    } finally {
      server.faults.clear();
    }
    const got = await fetchDebs(pkgs, sources, { cache, net: FAST_NET });
    assert.equal(got.size, 3);
    assert.deepEqual(await readFile(got.get(app.sha256)!), real);
  });

  test('a .deb gone from the mirror is found in a vendored fallback; without one the error says what to do', async () => {
    const specBody = `${fixtureSource()}packages: [fixapp]\n`;
    const { result, path } = await lockSpec(specBody);
    const lockPath = path.replace(/\.yaml$/, '.lock.json');
    await writeFile(lockPath, formatLockfile(result.lock));
    const cacheDir = await mkdtemp(join(work, 'vcache-'));
    const vendor = join(work, 'vendor');
    const v = await runCli(['vendor', path, vendor, '--cache-dir', cacheDir]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(await readFile(join(vendor, 'SHA256SUMS'), 'utf8'), /fixapp_3\.0-2_amd64\.deb/);
    // The mirror drops fixapp.
    const app = result.lock.architectures.amd64!.packages.find((p) => p.name === 'fixapp')!;
    const moved = join(work, 'fixapp.deb.moved');
    await copyFile(join(archive.root, app.filename), moved);
    await unlink(join(archive.root, app.filename));
    try {
      const cold = await mkdtemp(join(work, 'cold-'));
      const missing = await runCli(['fetch', path, '--cache-dir', cold]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /DEB_NOT_FOUND/);
      assert.match(missing.stderr, /strata lock --update/);
      const withFallback = path.replace(/\.yaml$/, '-fb.yaml');
      await writeFile(withFallback, `${fixtureSource(`  fallbacks: [${vendor}]\n`)}packages: [fixapp]\n`);
      await writeFile(withFallback.replace(/\.yaml$/, '.lock.json'), formatLockfile(result.lock));
      const ok = await runCli(['fetch', withFallback, '--cache-dir', cold, '--json']);
      assert.equal(ok.stderr, '');
      assert.equal(ok.code, 0);
      const report = JSON.parse(ok.stdout) as { packages: number; downloaded: number; cached: number };
      assert.equal(report.packages, 3);
      assert.equal(report.downloaded + report.cached, 3);
      assert.ok(report.downloaded >= 1, 'fixapp came from the fallback');
    } finally {
      await mkdir(join(archive.root, app.filename, '..'), { recursive: true });
      await copyFile(moved, join(archive.root, app.filename));
    }
  });
});

describe('lockfile lifecycle', () => {
  test('lock keeps a matching lock, --check detects a stale one, --update PKG moves only PKG', async () => {
    const path = await writeSpec('life.yaml', `${fixtureSource()}packages: [fixapp]\n`);
    const cacheDir = await mkdtemp(join(work, 'life-'));
    const first = await runCli(['lock', path, '--cache-dir', cacheDir, '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).resolved, true);
    const again = await runCli(['lock', path, '--cache-dir', cacheDir, '--json']);
    assert.equal(JSON.parse(again.stdout).resolved, false);
    assert.equal((await runCli(['lock', path, '--check'])).code, 0);
    await writeFile(path, `${fixtureSource()}packages: [fixapp, fixmailer]\n`);
    const check = await runCli(['lock', path, '--check']);
    assert.equal(check.code, 1);
    assert.match(check.stderr, /LOCK_STALE.*packages/);
    const why = await runCli(['why', path, 'libfix6']);
    assert.equal(why.code, 1, 'commands that read the lock refuse a stale one');
    const relock = await runCli(['lock', path, '--cache-dir', cacheDir, '--json']);
    const changes = JSON.parse(relock.stdout).changes as Array<{ name: string; from?: string; to?: string }>;
    assert.deepEqual(changes.map((c) => c.name).sort(), ['fixmail-a', 'fixmailer']);
    const w = await runCli(['why', path, 'libfix6', '--json']);
    assert.deepEqual(JSON.parse(w.stdout).paths, [['fixapp', 'libfix6']]);
    const wx = await runCli(['why', path, 'adduser']);
    assert.match(wx.stdout, /left out/);
    assert.match(wx.stdout, /fixapp → adduser/);
  });

  test('two processes locking into one cache at once both succeed', async () => {
    const cacheDir = await mkdtemp(join(work, 'race-'));
    const a = await writeSpec('race-a.yaml', `${fixtureSource()}packages: [fixapp]\n`);
    const b = await writeSpec('race-b.yaml', `${fixtureSource()}packages: [fixmailer]\n`);
    const [ra, rb] = await Promise.all([runCli(['lock', a, '--cache-dir', cacheDir]), runCli(['lock', b, '--cache-dir', cacheDir])]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    const fa = await runCli(['fetch', a, '--cache-dir', cacheDir]);
    const fb = await runCli(['fetch', b, '--cache-dir', cacheDir]);
    assert.equal(fa.code + fb.code, 0);
  });
});
