// `strata diff` over images of the hermetic test archive and their lockfiles: a security
// update of one library plus a recommended package and an env change, seen as lockfiles, as
// images and as one of each; the same image in another container format; and doctored
// copies whose differences are mtimes, owners or only the compressor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { runCli } from './helpers/cli.js';
import { doctorLayout, layerOf, readLayout } from './helpers/doctor-image.js';
import { cliOk, lockedSpec, startFixture, type FixtureSpecs } from './helpers/fixture-spec.js';
import type { ImageDiff } from '../src/verify/diff-images.js';

let f: FixtureSpecs;
let specA: string;
let specB: string;
let imageA: string;
let imageB: string;

before(async () => {
  f = await startFixture(await mkdtemp(join(tmpdir(), 'strata-diff-')));
  // A: the release suite only. B: with the security update of libfix6, recommends on, another env.
  specA = await lockedSpec(f, join(f.work, 'a'), 'fix', 'packages: [fixapp]\nentrypoint: [/usr/bin/fixapp]\nenv: {FIX: "1"}\n', ['fixture']);
  specB = await lockedSpec(f, join(f.work, 'b'), 'fix', 'packages: [fixapp]\nrecommends: true\nentrypoint: [/usr/bin/fixapp]\nenv: {FIX: "2"}\n');
  imageA = join(f.work, 'a.oci');
  imageB = join(f.work, 'b.oci');
  await cliOk(['build', specA, '-o', imageA, '--cache-dir', f.cache]);
  await cliOk(['build', specB, '-o', imageB, '--cache-dir', f.cache]);
});

after(async () => {
  await f.close();
  await rm(f.work, { recursive: true, force: true });
});

async function diffJson(a: string, b: string): Promise<ImageDiff> {
  const r = await runCli(['diff', a, b, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ImageDiff;
}

const lockOf = (spec: string) => spec.replace(/\.yaml$/, '.lock.json');

const EXPECTED_PACKAGES = [
  { name: 'fix-extras', architecture: 'all', kind: 'added', to: '1.0', source: 'fix-extras' },
  { name: 'libfix6', architecture: 'amd64', kind: 'upgraded', from: '2.1-1', to: '2.1-1+deb1u1', source: 'libfix6' },
];

describe('an update: one library upgraded, one package added, one variable changed', () => {
  test('as lockfiles: the packages with their source, and the suites that moved', async () => {
    const d = await diffJson(lockOf(specA), lockOf(specB));
    assert.deepEqual(d.platforms.map((p) => p.platform), ['linux/amd64']);
    assert.deepEqual(d.platforms[0]!.packages, EXPECTED_PACKAGES);
    const suite = d.differences.find((x) => x.where === 'suite fixture-updates')!;
    assert.deepEqual([suite.cause, suite.a, suite.b?.startsWith('Sat, 01 Jan 2022')], ['input', 'absent', true]);
    assert.ok(d.differences.some((x) => x.field === 'inputs' && x.cause === 'input'));
  });

  test('as images: packages, layers with the bytes to pull, files attributed to the package change, config', async () => {
    const d = await diffJson(imageA, imageB);
    const p = d.platforms[0]!;
    assert.deepEqual(p.packages, EXPECTED_PACKAGES);
    // Layers: every package has its own (the closure is far under the budget): libfix6's
    // changed, fix-extras's is new; fixapp's, fix-data's, the base layout and the effects are shared.
    const layers = p.layers!;
    const bare = (name: string) => name.replace(/^layer \d+ /, '');
    assert.deepEqual(layers.changed.map((c) => [bare(c.a.name), bare(c.b.name)]), [['(libfix6)', '(libfix6)']]);
    assert.deepEqual(layers.added.map((l) => bare(l.name)), ['(fix-extras)']);
    assert.deepEqual(layers.removed, []);
    assert.ok(layers.shared.some((l) => l.name.includes('(fixapp)')), 'fixapp\'s layer is the same .deb, the same bytes');
    assert.ok(layers.shared.some((l) => l.name.includes('(fix-data)')), 'fix-data did not change, nor did its layer');
    const a = await readLayout(imageA);
    const b = await readLayout(imageB);
    const held = new Set(a.manifest.layers.map((l) => l.digest));
    const need = b.manifest.layers.filter((l) => !held.has(l.digest));
    const manifestSize = (await stat(join(imageB, 'blobs', 'sha256', b.index.manifests[0]!.digest.slice(7)))).size;
    assert.equal(layers.pull.blobs, need.length + 2);
    assert.equal(layers.pull.bytes, need.reduce((n, l) => n + l.size, 0) + b.manifest.config.size + manifestSize);
    // Files: the library's bytes and the new data file, each blamed on its lockfile entry.
    const lib = p.files!.changed.find((c) => c.path === 'usr/lib/x86_64-linux-gnu/libfix.so.6')!;
    assert.deepEqual(lib.fields!.map((x) => x.field), ['size', 'content'].filter((x) => lib.fields!.some((y) => y.field === x)));
    assert.deepEqual([lib.cause, lib.attribution], ['package', 'lockfile: libfix6 2.1-1 → 2.1-1+deb1u1']);
    const extras = p.files!.added.find((c) => c.path === 'usr/share/fix/extras.txt')!;
    assert.deepEqual([extras.cause, extras.attribution], ['package', 'lockfile: fix-extras 1.0 added']);
    assert.ok(p.files!.changed.every((c) => c.cause !== 'content'), `every changed file is explained: ${JSON.stringify(p.files!.changed.filter((c) => c.cause === 'content'))}`);
    // Config: the variable, attributed to the spec.
    const env = d.differences.find((x) => x.level === 'config' && x.field === 'config.Env.FIX')!;
    assert.deepEqual([env.a, env.b, env.cause, env.attribution], ['1', '2', 'metadata', "the spec's env"]);
    const lock = d.differences.find((x) => x.field === 'annotations.dev.strata.lock.digest')!;
    assert.equal(lock.cause, 'input');
  });

  test('an image against a lockfile: the packages only', async () => {
    const same = await diffJson(imageA, lockOf(specA));
    assert.deepEqual(same.platforms[0]!.packages, []);
    assert.equal(same.platforms[0]!.files, undefined);
    const update = await diffJson(imageA, lockOf(specB));
    assert.deepEqual(update.platforms[0]!.packages, EXPECTED_PACKAGES);
  });

  test('the human summary names the sections and the bytes to pull', async () => {
    const r = await runCli(['diff', imageA, imageB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Packages: 1 upgraded, 1 added$/m);
    assert.match(r.stdout, /↑ libfix6 2\.1-1 → 2\.1-1\+deb1u1 {2}source libfix6/);
    assert.match(r.stdout, /a client holding A pulls \d+ blobs, [0-9.]+ (B|KiB), to get B/);
    assert.match(r.stdout, /~ usr\/lib\/x86_64-linux-gnu\/libfix\.so\.6 .*\[package: lockfile: libfix6/);
    assert.match(r.stdout, /config\.Env\.FIX: 1 → 2/);
  });
});

describe('the same image, stored or written differently', () => {
  test('its docker-archive has the same packages, files and config: no difference', async () => {
    const tar = join(f.work, 'a.docker.tar');
    await cliOk(['build', specA, '--format', 'docker-archive', '-o', tar, '--cache-dir', f.cache]);
    const d = await diffJson(imageA, tar);
    assert.deepEqual(d.differences, []);
    assert.equal(d.identical, true);
    const r = await runCli(['diff', imageA, imageA]);
    assert.match(r.stdout, /^identical$/m);
  });

  test('mtimes and an owner changed: timestamp and ownership, file by file', async () => {
    const dir = join(f.work, 'a-doctored.oci');
    await cp(imageA, dir, { recursive: true });
    const { manifest } = await readLayout(dir);
    const i = layerOf(manifest, 'fixapp');
    await doctorLayout(dir, {
      layer: {
        index: i,
        transform: (items) =>
          items.map((it) => {
            if (it.entry.path === 'usr/bin/fixapp') return { ...it, entry: { ...it.entry, uid: 1000, gid: 1000 } };
            if (it.entry.path === 'usr/share/doc/fixapp/copyright') return { ...it, entry: { ...it.entry, mtime: 1_800_000_000 } };
            return it;
          }),
      },
    });
    const d = await diffJson(imageA, dir);
    const files = d.platforms[0]!.files!;
    assert.deepEqual(files.added, []);
    assert.deepEqual(files.removed, []);
    assert.deepEqual(
      files.changed.map((c) => [c.path, c.cause, c.fields!.map((x) => x.field)]),
      [
        ['usr/bin/fixapp', 'ownership', ['uid', 'gid']],
        ['usr/share/doc/fixapp/copyright', 'timestamp', ['mtime']],
      ],
    );
    assert.deepEqual(d.platforms[0]!.packages, []);
  });

  test('a layer recompressed by another gzip: the same DiffID, a compressor difference only', async () => {
    const dir = join(f.work, 'a-gzip9.oci');
    await cp(imageA, dir, { recursive: true });
    const { manifest } = await readLayout(dir);
    const i = layerOf(manifest, 'fixapp');
    await doctorLayout(dir, { blob: { index: i, transform: (gz) => gzipSync(gunzipSync(gz), { level: 9 }) } });
    const d = await diffJson(imageA, dir);
    const layers = d.platforms[0]!.layers!;
    assert.equal(layers.changed.length, 1);
    assert.equal(layers.changed[0]!.a.diffId, layers.changed[0]!.b.diffId);
    assert.deepEqual(d.platforms[0]!.files, { added: [], removed: [], changed: [] });
    const layerDiffs = d.differences.filter((x) => x.level === 'layer');
    assert.ok(layerDiffs.length >= 1 && layerDiffs.every((x) => x.cause === 'compressor'), JSON.stringify(layerDiffs, null, 1));
    assert.match(layerDiffs[0]!.explanation, /same DiffID/);
  });

  test('a layer in another order: no file differs, the layer explains it as ordering', async () => {
    const dir = join(f.work, 'a-reversed.oci');
    await cp(imageA, dir, { recursive: true });
    await doctorLayout(dir, { layer: { index: 0, transform: (items) => [...items].reverse() } });
    const d = await diffJson(imageA, dir);
    assert.deepEqual(d.platforms[0]!.files, { added: [], removed: [], changed: [] });
    assert.equal(d.platforms[0]!.layers!.changed.length, 1);
    const layer = d.differences.filter((x) => x.level === 'layer');
    assert.deepEqual(layer.map((x) => [x.cause, x.field]), [['ordering', 'entry order']]);
  });

  test('another build epoch: the base layout and created move, attributed to the epoch; package and effects layers stay', async () => {
    const dir = join(f.work, 'a-epoch.oci');
    await cliOk(['build', specA, '-o', dir, '--cache-dir', f.cache], { SOURCE_DATE_EPOCH: '1700000000' });
    const d = await diffJson(imageA, dir);
    // The effects layer is dated by the release and the packages it is made from, all older than
    // both epochs: an update that moves only the epoch leaves it, as it leaves package layers.
    const layers = d.platforms[0]!.layers!;
    assert.deepEqual(layers.changed.map((c) => c.a.name.replace(/^layer \d+ /, '')), ['(base layout)']);
    assert.ok(layers.shared.some((l) => l.name.endsWith('(effects)')), `the effects layer is shared: ${JSON.stringify(layers)}`);
    const created = d.differences.find((x) => x.level === 'config' && x.field === 'created')!;
    assert.deepEqual([created.cause, created.b], ['timestamp', '2023-11-14T22:13:20Z']);
    const files = d.platforms[0]!.files!;
    assert.ok(files.changed.length > 0);
    for (const c of files.changed) {
      assert.deepEqual(c.fields!.map((x) => x.field), ['mtime'], c.path);
      assert.equal(c.cause, 'timestamp', c.path);
      assert.match(c.attribution ?? '', /^the build epoch/, c.path);
    }
    assert.deepEqual(d.platforms[0]!.packages, []);
  });
});
