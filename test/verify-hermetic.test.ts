// `strata verify` on an image of the hermetic test archive: the perturbed rebuilds agree; an
// image given with --against (layout, oci-archive, docker-archive) passes; and deliberately
// non-reproducible inputs fail with exit 3 and the right explanation — a layer written with
// the current time as mtime, a tar in file-system order, a gzip header with a time stamp, a
// config with its keys in another order, a different uid, one byte changed — each asserting
// the cause class and the first differing entry. A careless builder (STRATA_VERIFY_CLI) that
// leaks the clock or the listing order is caught, and blamed on the right perturbation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { opendirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, REPO_ROOT } from './helpers/cli.js';
import { doctorLayout, layerOf, readLayout, reversedKeysJson, type TarItem } from './helpers/doctor-image.js';
import { cliOk, lockedSpec, startFixture, type FixtureSpecs } from './helpers/fixture-spec.js';
import type { VerifyReport } from '../src/verify/verify.js';
import type { Difference } from '../src/verify/difference.js';

let f: FixtureSpecs;
let spec: string;
let base: string;

before(async () => {
  const work = await mkdtemp(join(tmpdir(), 'strata-verify-'));
  f = await startFixture(work);
  spec = await lockedSpec(f, join(work, 'spec'), 'fix', 'packages: [fixapp]\nentrypoint: [/usr/bin/fixapp]\nenv: {FIX: "1"}\n');
  base = join(work, 'fix.oci');
  await cliOk(['build', spec, '-o', base, '--cache-dir', f.cache]);
});

after(async () => {
  await f.close();
  await rm(f.work, { recursive: true, force: true });
});

async function verifyJson(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; report: VerifyReport; stderr: string }> {
  const r = await runCli(['verify', ...args, '--json', '--cache-dir', f.cache], env ? { env } : {});
  assert.ok(r.stdout.trim().startsWith('{'), `verify printed no report (exit ${r.code})\n${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as VerifyReport, stderr: r.stderr };
}

/** A copy of the built image, doctored. */
async function doctored(name: string, how: Parameters<typeof doctorLayout>[1]): Promise<string> {
  const dir = join(f.work, `${name}.oci`);
  await rm(dir, { recursive: true, force: true });
  await cp(base, dir, { recursive: true });
  await doctorLayout(dir, how);
  return dir;
}

const only = (r: VerifyReport, pred: (d: Difference) => boolean) => r.differences.filter(pred);

describe('rebuilds under perturbations', () => {
  test('every perturbation: control, experiment and warm cache agree at every level (exit 0)', async () => {
    const { code, report, stderr } = await verifyJson([spec]);
    assert.equal(code, 0, stderr);
    assert.equal(report.reproducible, true);
    assert.deepEqual(report.vary, ['tz', 'locale', 'umask', 'home', 'cwd', 'time', 'shuffle', 'workers', 'cache']);
    assert.deepEqual(report.rebuilds.map((b) => b.name), ['experiment', 'warm cache']);
    const experiment = report.rebuilds[0]!;
    assert.deepEqual(experiment.vary, ['tz', 'locale', 'umask', 'home', 'cwd', 'time', 'shuffle', 'workers']);
    assert.deepEqual(experiment.setting, { tz: 'Pacific/Kiritimati', locale: 'tr_TR.UTF-8', umask: '077', home: 'experiment', cwd: 'experiment', clockOffset: 315360000, shuffle: true, workers: 4, cache: 'cold' });
    for (const b of report.rebuilds) {
      assert.equal(b.digest, report.digest, `${b.name} built another digest`);
      assert.equal(b.identical, true);
      const levels = new Set(b.comparison!.levels.map((l) => l.level));
      assert.deepEqual([...levels].sort(), ['blob', 'config', 'diffid', 'index', 'manifest']);
      assert.ok(b.comparison!.levels.every((l) => l.same === true));
    }
    const layout = await readLayout(base);
    assert.equal(report.digest, layout.index.manifests[0]!.digest, 'the rebuild is the image `strata build` wrote');
    assert.equal(report.rebuilds[0]!.comparison!.levels.filter((l) => l.level === 'blob').length, layout.manifest.layers.length);
  });

  test('--vary chooses (a list, or "-name" to leave one out); an unknown name is a usage error', async () => {
    const two = await verifyJson([spec, '--vary', 'tz,time']);
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual(two.report.vary, ['tz', 'time']);
    assert.deepEqual(two.report.rebuilds.map((b) => [b.name, b.vary]), [['experiment', ['tz', 'time']]]);
    const allBut = await verifyJson([spec, '--vary=-time,-cache']);
    assert.deepEqual(allBut.report.vary, ['tz', 'locale', 'umask', 'home', 'cwd', 'shuffle', 'workers']);
    const bad = await runCli(['verify', spec, '--vary', 'tz,moon', '--cache-dir', f.cache]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"moon" is not a perturbation/);
  });

  test('a lockfile is verified with the spec beside it; an image needs --spec', async () => {
    const viaLock = await verifyJson([spec.replace(/\.yaml$/, '.lock.json'), '--vary', 'workers']);
    assert.equal(viaLock.code, 0, viaLock.stderr);
    assert.equal(viaLock.report.spec, spec);
    const noSpec = await runCli(['verify', base, '--cache-dir', f.cache]);
    assert.equal(noSpec.code, 2);
    assert.match(noSpec.stderr, /--spec SPEC/);
    const withSpec = await verifyJson([base, '--spec', spec]);
    assert.equal(withSpec.code, 0, withSpec.stderr);
    assert.equal(withSpec.report.against?.identical, true);
  });

  test('--html writes one page with a table per level and the verdict', async () => {
    const html = join(f.work, 'report.html');
    const r = await runCli(['verify', spec, '--vary', 'tz', '--html', html, '--cache-dir', f.cache]);
    assert.equal(r.code, 0, r.stderr);
    const page = await readFile(html, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    assert.match(page, /class="verdict ok">reproducible</);
    for (const title of ['Manifest', 'Config', 'Layer DiffIDs (uncompressed tar)', 'Layer blobs (as stored)']) assert.ok(page.includes(`<h3>${title}</h3>`), title);
    assert.doesNotMatch(page, /<script|https?:\/\/(?!127\.0\.0\.1)/, 'self-contained');
  });
});

describe('--against an image', () => {
  test('the layout, its oci-archive and its docker-archive pass (exit 0)', async () => {
    const ociTar = join(f.work, 'fix.oci.tar');
    const dockerTar = join(f.work, 'fix.docker.tar');
    await cliOk(['build', spec, '--format', 'oci-archive', '-o', ociTar, '--cache-dir', f.cache]);
    await cliOk(['build', spec, '--format', 'docker-archive', '-o', dockerTar, '--cache-dir', f.cache]);
    for (const image of [base, `${base}:latest`, ociTar, `oci-archive:${ociTar}:latest`, dockerTar]) {
      const { code, report, stderr } = await verifyJson([spec, '--against', image]);
      assert.equal(code, 0, `${image}\n${stderr}`);
      assert.deepEqual(report.rebuilds, [], 'no perturbation unless --vary is given');
      assert.equal(report.against!.identical, true, image);
    }
    const docker = (await verifyJson([spec, '--against', dockerTar])).report.against!;
    assert.equal(docker.comparison.levels.find((l) => l.level === 'manifest')!.same, null, 'a docker-archive has no manifest to compare');
    assert.ok(docker.comparison.levels.filter((l) => l.level === 'diffid').every((l) => l.same === true));
  });
});

describe('deliberately non-reproducible images fail with the cause and the first differing entry', () => {
  test('a layer written with the current time as mtime → timestamp, at the layer\'s first entry', async () => {
    const { manifest } = await readLayout(base);
    const i = layerOf(manifest, 'fixapp');
    const now = Math.floor(Date.now() / 1000);
    let first = '';
    const dir = await doctored('mtime-now', {
      layer: {
        index: i,
        transform: (items) => {
          first = items[0]!.entry.path;
          return items.map((it) => ({ ...it, entry: { ...it.entry, mtime: now } }));
        },
      },
    });
    const { code, report } = await verifyJson([spec, '--against', dir]);
    assert.equal(code, 3);
    assert.equal(report.reproducible, false);
    const layer = report.against!.comparison.layers.find((l) => l.index === i)!;
    assert.equal(layer.comparison.first!.position, 0);
    assert.equal(layer.comparison.first!.a, first);
    assert.deepEqual(layer.comparison.first!.fields.map((x) => x.field), ['mtime']);
    const d = only(report, (x) => x.field === 'mtime');
    assert.equal(d.length, 1);
    assert.equal(d[0]!.cause, 'timestamp');
    assert.equal(d[0]!.where, `${layer.name}: ${first}`);
    assert.match(d[0]!.b!, new RegExp(`^${now} `));
    assert.deepEqual([...new Set(report.differences.map((x) => x.cause))], ['timestamp']);
  });

  test('a tar with its entries in file-system order → ordering, at the first entry out of place', async () => {
    let sorted: string[] = [];
    let walked: string[] = [];
    const dir = await doctored('fs-order', {
      layer: {
        index: 0,
        transform: async (items) => {
          // Lay the entries out in a real directory, then walk it as `tar -c` would.
          const root = await mkdtemp(join(f.work, 'walk-'));
          for (const it of items) {
            const p = join(root, it.entry.path);
            if (it.entry.type === 'directory') await mkdir(p, { recursive: true });
            else if (it.entry.type === 'symlink') await symlink(it.entry.linkname!, p);
            else await writeFile(p, it.content ?? '');
          }
          const order: string[] = [];
          // readdir(3) order, as tar -c sees it (node's readdir sorts; opendir does not).
          const walk = (rel: string) => {
            const d = opendirSync(join(root, rel));
            for (let e = d.readSync(); e !== null; e = d.readSync()) {
              const p = rel === '' ? e.name : `${rel}/${e.name}`;
              order.push(p);
              if (e.isDirectory()) walk(p);
            }
            d.closeSync();
          };
          walk('');
          const byPath = new Map(items.map((it) => [it.entry.path, it] as [string, TarItem]));
          sorted = items.map((it) => it.entry.path);
          walked = order;
          return order.map((p) => byPath.get(p)!);
        },
      },
    });
    assert.deepEqual([...walked].sort(), [...sorted].sort(), 'the walk found every entry');
    const pos = sorted.findIndex((p, k) => p !== walked[k]);
    assert.ok(pos >= 0, 'the file system returned the entries sorted; this test needs another order');
    const { code, report } = await verifyJson([spec, '--against', dir]);
    assert.equal(code, 3);
    const d = only(report, (x) => x.cause === 'ordering');
    assert.equal(d.length, 1, JSON.stringify(report.differences, null, 1));
    assert.equal(d[0]!.field, 'entry order');
    assert.equal(d[0]!.a, sorted[pos]);
    assert.equal(d[0]!.b, walked[pos]);
    assert.match(d[0]!.explanation, new RegExp(`position ${pos}:`));
    assert.deepEqual([...new Set(report.differences.map((x) => x.cause))], ['ordering']);
  });

  test('a gzip header with a time stamp → timestamp in the blob only, the DiffID the same', async () => {
    const { manifest } = await readLayout(base);
    const i = layerOf(manifest, 'fixapp');
    const stamp = 1_700_000_000;
    const dir = await doctored('gzip-mtime', {
      blob: {
        index: i,
        transform: (gz) => {
          const b = Buffer.from(gz);
          b.writeUInt32LE(stamp, 4);
          return b;
        },
      },
    });
    const { code, report } = await verifyJson([spec, '--against', dir]);
    assert.equal(code, 3);
    const levels = report.against!.comparison.levels.filter((l) => l.name.startsWith(`layer ${i} `));
    assert.deepEqual(levels.map((l) => [l.level, l.same]), [['diffid', true], ['blob', false]]);
    const d = report.differences;
    assert.equal(d.length, 1, JSON.stringify(d, null, 1));
    assert.deepEqual([d[0]!.cause, d[0]!.field, d[0]!.a, d[0]!.b], ['timestamp', 'gzip MTIME', '0 (none)', `${stamp} (2023-11-14T22:13:20Z)`]);
    assert.match(d[0]!.explanation, /same DiffID/);
  });

  test('a config with its keys in another order → ordering in the config, the values equal', async () => {
    const dir = await doctored('config-order', { config: (c) => reversedKeysJson(c) });
    const { code, report } = await verifyJson([spec, '--against', dir]);
    assert.equal(code, 3);
    const levels = report.against!.comparison.levels;
    assert.equal(levels.find((l) => l.level === 'config')!.same, false);
    assert.ok(levels.filter((l) => l.level === 'diffid' || l.level === 'blob').every((l) => l.same === true));
    assert.equal(report.differences.length, 1, JSON.stringify(report.differences, null, 1));
    const d = report.differences[0]!;
    assert.deepEqual([d.level, d.cause, d.field], ['config', 'ordering', 'key order of (top level)']);
    assert.equal(d.a, 'architecture, config, created, history, os, rootfs');
    assert.equal(d.b, 'rootfs, os, history, created, config, architecture');
  });

  test('a different uid → ownership, at that entry', async () => {
    const { manifest } = await readLayout(base);
    const i = layerOf(manifest, 'fixapp');
    const dir = await doctored('uid', { layer: { index: i, transform: (items) => items.map((it) => (it.entry.path === 'usr/bin/fixapp' ? { ...it, entry: { ...it.entry, uid: 1000 } } : it)) } });
    const { code, report } = await verifyJson([spec, '--against', dir]);
    assert.equal(code, 3);
    const layer = report.against!.comparison.layers.find((l) => l.index === i)!;
    assert.equal(layer.comparison.first!.a, 'usr/bin/fixapp');
    assert.equal(report.differences.length, 1, JSON.stringify(report.differences, null, 1));
    const d = report.differences[0]!;
    assert.deepEqual([d.cause, d.field, d.where, d.a, d.b], ['ownership', 'uid', `${layer.name}: usr/bin/fixapp`, '0', '1000']);
  });

  test('one byte changed in a stored layer → integrity: the bytes do not match their digest', async () => {
    const { manifest } = await readLayout(base);
    const i = layerOf(manifest, 'fixapp');
    const dir = join(f.work, 'one-byte.oci');
    await rm(dir, { recursive: true, force: true });
    await cp(base, dir, { recursive: true });
    const blob = join(dir, 'blobs', 'sha256', manifest.layers[i]!.digest.slice(7));
    const bytes = await readFile(blob);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(blob, bytes);
    const { code, report, stderr } = await verifyJson([spec, '--against', dir]);
    assert.equal(code, 3);
    assert.match(stderr, /NOT_REPRODUCIBLE/);
    const d = only(report, (x) => x.cause === 'integrity');
    assert.ok(d.length >= 1);
    assert.equal(d[0]!.level, 'blob');
    assert.match(d[0]!.explanation, /does not match the digest that names it/);
    assert.equal(report.against!.comparison.levels.find((l) => l.level === 'blob' && l.name.startsWith(`layer ${i} `))!.same, false);
  });
});

describe('a careless builder is caught and blamed on the right perturbation', () => {
  const sloppy = join(REPO_ROOT, 'dist', 'test', 'helpers', 'sloppy-builder.js');

  test('a layer stamped with today\'s date differs under a clock ten years ahead: culprit time', async () => {
    const { code, report } = await verifyJson([spec, '--vary', 'tz,time,workers'], { STRATA_VERIFY_CLI: sloppy, SLOPPY: 'clock' });
    assert.equal(code, 3);
    assert.deepEqual(report.culprits, ['time']);
    assert.deepEqual(report.rebuilds.map((b) => [b.name, b.identical]), [['experiment', false], ['only tz', true], ['only time', false], ['only workers', true]]);
    const d = only(report, (x) => x.field === 'mtime');
    assert.equal(d.length, 1);
    assert.equal(d[0]!.cause, 'timestamp');
    assert.match(d[0]!.attribution!, /^perturbation: time /);
  });

  test('a layer in directory-listing order differs when listings are shuffled: culprit shuffle', async () => {
    const { code, report } = await verifyJson([spec, '--vary', 'shuffle,umask'], { STRATA_VERIFY_CLI: sloppy, SLOPPY: 'listing' });
    assert.equal(code, 3);
    assert.deepEqual(report.culprits, ['shuffle']);
    const d = only(report, (x) => x.cause === 'ordering');
    assert.equal(d.length, 1, JSON.stringify(report.differences, null, 1));
    assert.match(d[0]!.attribution!, /^perturbation: shuffle /);
  });
});

