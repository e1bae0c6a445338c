// `strata build` on the generated, signed test archive (test/helpers): what the image holds
// (effects, merged /usr, slim, file metadata), its canonical form (checked here, by
// oci-image-tool and by umoci), a golden digest, bit-for-bit rebuilds in child processes
// under perturbation (time zone, locale, umask, HOME, working directory, a faked clock,
// shuffled directory order, cold and warm caches, worker counts), and refusals of bad input
// that leave no partial output behind.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { copyFile, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readTar } from '../src/archive/tar-reader.js';
import { decodeHeader, parsePaxRecords, padding, type TarEntry } from '../src/archive/tar-header.js';
import { lock } from '../src/build/lock.js';
import { CacheDir } from '../src/cache/cache-dir.js';
import { validateLayout } from '../src/image/validate.js';
import { canonicalJson } from '../src/digest/canonical-json.js';
import { formatLockfile } from '../src/debian/lockfile.js';
import { comparePathBytes, parentDirs } from '../src/debian/merged-usr.js';
import { fnv1a32 } from '../src/effects/accounts.js';
import { loadSpec } from '../src/spec/load-spec.js';
import { CLI } from './helpers/cli.js';
import { buildFixtureArchive, type BuiltArchive, type SuiteFixture } from './helpers/fixture-archive.js';
import { serveDirectory, type ArchiveServer } from './helpers/archive-server.js';
import {
  BAD_PACKAGES,
  CERTS,
  FUTURE_MTIME,
  GROUP_MASTER,
  IMAGE_PACKAGES,
  LONG_PATH,
  MAIN_PACKAGES,
  NON_ASCII_PATH,
  NSSWITCH_TEMPLATE,
  PASSWD_MASTER,
  TZIF_UTC,
  UPDATES_PACKAGES,
} from './helpers/fixture-world.js';
import { FIXTURE_MTIME } from './helpers/make-deb.js';

/**
 * The manifest digest of GOLDEN_SPEC built from the golden fixture archive. It moves only when
 * the bytes of an image change for the same inputs: a deliberate change of the layer format
 * (bump LAYER_FORMAT), of the layer plan (docs/layering.md), of the config or manifest, of
 * strata's version (the manifest records it), or of the golden fixture packages. Never update
 * it to make a failure go away without knowing which of those it is.
 */
const GOLDEN_DIGEST = 'sha256:e43cd5f9637a259cc18ebaa1962e537f59d1c155ece8c3580386c1c8e556346a';

/** Deterministic system IDs: 100 + fnv1a32(name) mod 900 (src/effects/accounts.ts). */
const FIXAPP_ID = 987;
const FIXD_ID = 264;

const EPOCH = FIXTURE_MTIME; // the fixture InRelease Date: the lock's epoch
const FAST_NET = { timeoutMs: 2000, retries: 1, backoffMs: 10 };
const IMAGE_NAMES = ['fixapp', 'fixbase-passwd', 'fixlibc-bin', 'fixca-certificates', 'fixtzdata', 'fixalt-a', 'fixalt-b', 'fixsecret', 'fixping', 'fixd', 'fixmerged', 'fixfiles', 'fixclash-a', 'fixclash-b'];

function specBody(source: string, packages: string[]): string {
  return `# An image of the hermetic fixture archive (test/build-hermetic.test.ts).
${source}packages: [${packages.join(', ')}]
accounts:
  groups: [{name: app, gid: 1000}]
  users: [{name: app, uid: 1000, gid: 1000, home: /home/app, shell: /bin/sh}]
  run-as: app
entrypoint: [/usr/bin/fixapp]
cmd: [--serve]
env: {LANG: C.UTF-8}
workdir: /data
paths:
  - {path: /data, type: directory, uid: 1000, gid: 1000, mode: "0750"}
  - {path: /etc/fixapp.conf, type: file, content: "port = 80\\n", gid: 1000, mode: "0640"}
  - {path: /usr/local/bin/app, type: symlink, target: /usr/bin/fixapp}
  - {path: /var/lib/fixfiles/state, type: file, content: "", gid: 42, mode: "0660"}
  - {path: /root/.profile, type: file, content: "umask 027\\n", mode: "0600"}
  - {path: /bin/app-tool, type: symlink, target: /usr/bin/fixapp}
  - {path: /var/run/fixapp, type: directory, uid: 1000, gid: 1000}
annotations: {org.opencontainers.image.title: strata fixture}
`;
}

/** Relative mirror and keyring: the spec text, hence the lock and the image, name no machine path. */
const GOLDEN_SPEC = specBody('source:\n  mirror: ./archive\n  suites: [fixture, fixture-updates]\n  keyring: archive.public.asc\n', IMAGE_NAMES);

let work: string;
let archive: BuiltArchive;
let server: ArchiveServer;

// ---- helpers ----

function haveTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function requireTool(name: string, pkg = name): void {
  assert.ok(haveTool(name), `${name} is needed by this test: apt-get install ${pkg} (see .ci/run)`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  umask?: string;
  faketime?: string;
}

/** Runs the real CLI in a child process; the environment is the test's minus what sets the build's inputs. */
function strata(args: string[], o: RunOptions = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.SOURCE_DATE_EPOCH;
  delete env.STRATA_CACHE_DIR;
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  let argv = [process.execPath, CLI, ...args];
  if (o.umask !== undefined) argv = ['sh', '-c', `umask ${o.umask}; exec "$@"`, 'sh', ...argv];
  if (o.faketime !== undefined) argv = ['faketime', o.faketime, ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd ?? work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

interface BuildReport {
  digest: string;
  epoch: number;
  platforms: Array<{ config: string; layers: Array<{ digest: string; diffId: string; kind: string; packages: string[]; cached: boolean }>; warnings: string[] }>;
}

async function build(spec: string, cache: string, out: string, extra: string[] = [], o: RunOptions = {}): Promise<BuildReport> {
  const r = await strata(['build', spec, '--cache-dir', cache, '-o', out, '--json', ...extra], o);
  assert.equal(r.code, 0, `build failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as BuildReport;
}

async function writeLock(specPath: string, cacheDir?: string): Promise<void> {
  const cache = await CacheDir.open(cacheDir ?? (await mkdtemp(join(work, 'lock-cache-'))));
  const { lock: l } = await lock(await loadSpec(specPath), { cache, net: FAST_NET });
  await writeFile(specPath.replace(/\.yaml$/, '.lock.json'), formatLockfile(l));
}

/** Every file under dir with its bytes, by relative path (directories listed as such). */
async function tree(dir: string): Promise<Map<string, Buffer | 'dir'>> {
  const out = new Map<string, Buffer | 'dir'>();
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if ((await lstat(join(dir, r))).isDirectory()) {
        out.set(r, 'dir');
        await walk(r);
      } else out.set(r, await readFile(join(dir, r)));
    }
  };
  await walk('');
  return out;
}

function assertSameTree(a: Map<string, Buffer | 'dir'>, b: Map<string, Buffer | 'dir'>, what: string): void {
  assert.deepEqual([...b.keys()], [...a.keys()], `${what}: the layout holds different files`);
  for (const [path, bytes] of a) {
    const other = b.get(path)!;
    assert.ok(bytes === 'dir' ? other === 'dir' : other !== 'dir' && bytes.equals(other), `${what}: ${path} differs`);
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface LayerEntry {
  entry: TarEntry;
  content: Buffer;
}

async function blob(layout: string, digest: string): Promise<Buffer> {
  return readFile(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

async function tarEntries(tar: Buffer, what: string): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  for await (const { entry, body } of readTar((async function* () { yield tar; })(), what)) {
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c);
    out.push({ entry, content: Buffer.concat(parts) });
  }
  return out;
}

/** The raw headers of a tar: checks what the reader hides (pax headers, uname bytes, magic). */
function rawHeaders(tar: Buffer): Array<{ typeflag: string; name: string; block: Buffer; pax?: Map<string, Buffer> }> {
  const out: Array<{ typeflag: string; name: string; block: Buffer; pax?: Map<string, Buffer> }> = [];
  let pos = 0;
  while (pos + 512 <= tar.length) {
    const block = tar.subarray(pos, pos + 512);
    if (block.every((b) => b === 0)) break;
    const h = decodeHeader(block);
    const size = h.typeflag === '0' || h.typeflag === 'x' ? h.size : 0;
    const item: { typeflag: string; name: string; block: Buffer; pax?: Map<string, Buffer> } = { typeflag: h.typeflag, name: h.name, block };
    if (h.typeflag === 'x') item.pax = parsePaxRecords(tar.subarray(pos + 512, pos + 512 + size));
    out.push(item);
    pos += 512 + size + padding(size);
  }
  return out;
}

/**
 * Checks one layer's canonical form and returns its entries: the fixed gzip header, the
 * DiffID, entries sorted by path bytes with parents first and one per path, no device
 * nodes, numeric owners with empty uname/gname, mtimes clamped to the epoch, pax headers
 * only where needed, the end-of-archive marker.
 */
async function checkLayer(layout: string, digest: string, diffId: string, epoch: number): Promise<LayerEntry[]> {
  const gz = await blob(layout, digest);
  assert.equal(`sha256:${sha256(gz)}`, digest);
  assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], `${digest}: gzip header must be fixed (no name, mtime 0, OS 3)`);
  const tar = gunzipSync(gz);
  assert.equal(`sha256:${sha256(tar)}`, diffId, 'the DiffID is the sha256 of the uncompressed tar');
  assert.equal(tar.length % 512, 0);
  assert.ok(tar.subarray(tar.length - 1024).every((b) => b === 0), 'ends with the end-of-archive marker');
  const entries = await tarEntries(tar, digest);
  const seen = new Map<string, TarEntry>();
  let previous: string | undefined;
  for (const { entry } of entries) {
    const path = entry.type === 'directory' ? entry.path.replace(/\/$/, '') : entry.path;
    const where = `${digest.slice(7, 19)} ${path}`;
    assert.ok(['file', 'directory', 'symlink', 'hardlink'].includes(entry.type), `${where}: ${entry.type} entries are not allowed`);
    assert.ok(!path.startsWith('/') && !path.startsWith('./') && !path.split('/').includes('..'), `${where}: not a canonical path`);
    if (previous !== undefined) assert.ok(comparePathBytes(previous, path) < 0, `${where}: entries must be sorted by path bytes, one per path (after ${previous})`);
    previous = path;
    for (const parent of parentDirs(path)) assert.equal(seen.get(parent)?.type, 'directory', `${where}: parent ${parent} must come first, as a directory`);
    if (entry.type === 'hardlink') assert.equal(seen.get(entry.linkname!)?.type, 'file', `${where}: a hard link points to an earlier file of the layer`);
    assert.equal(entry.uname, undefined, `${where}: uname must be empty`);
    assert.equal(entry.gname, undefined, `${where}: gname must be empty`);
    assert.ok(Number.isInteger(entry.uid) && Number.isInteger(entry.gid));
    assert.ok(entry.mtime <= epoch, `${where}: mtime ${entry.mtime} is after the epoch ${epoch}`);
    seen.set(path, entry);
  }
  const headers = rawHeaders(tar);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    assert.ok(['0', '1', '2', '5', 'x'].includes(h.typeflag), `typeflag ${h.typeflag} of ${h.name}`);
    assert.equal(h.block.toString('latin1', 257, 265), 'ustar\u000000');
    assert.ok(h.block.subarray(265, 329).every((b) => b === 0), `${h.name}: uname and gname bytes must be empty`);
    if (h.typeflag !== 'x') continue;
    const keys = [...h.pax!.keys()];
    assert.ok(keys.every((k) => k === 'path' || k === 'linkpath' || k.startsWith('SCHILY.xattr.')), `pax keys ${keys.join(',')}`);
    const next = headers[i + 1]!;
    const needed = keys.some((k) => k.startsWith('SCHILY.xattr.')) || (h.pax!.has('path') && h.pax!.get('path')!.length > 100) || (h.pax!.has('linkpath') && h.pax!.get('linkpath')!.length > 100);
    assert.ok(needed, `a pax header before ${next.name} that nothing needs`);
  }
  const paxCount = headers.filter((h) => h.typeflag === 'x').length;
  const needPax = entries.filter(({ entry }) => Buffer.byteLength(entry.type === 'directory' ? `${entry.path}` : entry.path) > 100 || Buffer.byteLength(entry.linkname ?? '') > 100 || entry.xattrs !== undefined).length;
  assert.equal(paxCount, needPax, 'exactly the entries that need a pax record have one');
  return entries;
}

interface Layout {
  manifest: { layers: Array<{ digest: string; size: number; mediaType: string; annotations?: Record<string, string> }>; config: { digest: string; size: number; mediaType: string }; annotations: Record<string, string>; mediaType: string };
  config: {
    architecture: string;
    os: string;
    created: string;
    config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env: string[]; WorkingDir?: string; Labels?: Record<string, string> };
    rootfs: { diff_ids: string[] };
    history: unknown[];
  };
  /** Every layer's entries, bottom first. */
  layers: LayerEntry[][];
}

/** Our expectations of an OCI layout written by strata. */
async function checkLayout(layout: string, digest: string, epoch: number): Promise<Layout> {
  assert.equal(await readFile(join(layout, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
  const indexBytes = await readFile(join(layout, 'index.json'));
  const index = JSON.parse(indexBytes.toString('utf8'));
  assert.equal(indexBytes.toString('utf8'), canonicalJson(index), 'index.json is canonical JSON');
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0].digest, digest);
  assert.equal(index.manifests[0].mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'latest');
  const json = async (d: string, size: number) => {
    const b = await blob(layout, d);
    assert.equal(`sha256:${sha256(b)}`, d);
    assert.equal(b.length, size);
    const v = JSON.parse(b.toString('utf8'));
    assert.equal(b.toString('utf8'), canonicalJson(v), `${d} is canonical JSON`);
    return v;
  };
  const manifest = (await json(digest, index.manifests[0].size)) as Layout['manifest'];
  assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
  const config = (await json(manifest.config.digest, manifest.config.size)) as Layout['config'];
  assert.equal(config.created, new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'));
  assert.equal(manifest.annotations['org.opencontainers.image.created'], config.created);
  assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
  assert.equal(config.history.length, manifest.layers.length);
  const layers: LayerEntry[][] = [];
  for (const [i, l] of manifest.layers.entries()) {
    assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.equal((await stat(join(layout, 'blobs', 'sha256', l.digest.slice(7)))).size, l.size);
    layers.push(await checkLayer(layout, l.digest, config.rootfs.diff_ids[i]!, epoch));
  }
  const blobs = (await readdir(join(layout, 'blobs', 'sha256'))).sort();
  assert.deepEqual(blobs, [digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)].map((d) => d.slice(7)).sort(), 'the layout holds exactly the image\'s blobs');
  assert.deepEqual((await readdir(layout)).sort(), ['blobs', 'index.json', 'oci-layout']);
  return { manifest, config, layers };
}

/** The image as a runtime sees it: the last layer's entry for each path. */
function flatten(layers: LayerEntry[][]): Map<string, LayerEntry & { layer: number }> {
  const out = new Map<string, LayerEntry & { layer: number }>();
  layers.forEach((entries, layer) => {
    for (const e of entries) out.set(e.entry.path.replace(/\/$/, ''), { ...e, layer });
  });
  return out;
}

function bundle(passwd: string): string {
  return passwd.split('\n').filter((l) => l !== '').map((l) => `${l.replace(/^([^:]*):\*:/, '$1:x:')}\n`).join('');
}

/** Runs builds a few at a time. */
async function limited<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!);
      }
    }),
  );
  return out;
}

// ---- the fixture worlds ----

/** The served archive: everything, including the broken packages and xz/zstd members. */
function servedSuites(): SuiteFixture[] {
  return [
    { suite: 'fixture', packages: [...MAIN_PACKAGES, ...IMAGE_PACKAGES, ...BAD_PACKAGES] },
    { suite: 'fixture-updates', packages: UPDATES_PACKAGES, validUntil: 'Fri, 01 Jan 2100 00:00:00 UTC' },
  ];
}

/**
 * The golden archive: gzip only (the xz index and the xz/zstd members depend on the host's
 * tool versions), so its bytes, the lock and the image depend on nothing of the machine.
 */
function goldenSuites(): SuiteFixture[] {
  // Only the golden closure and what its dependencies name, so packages added to the fixture
  // world for other tests do not change the golden archive's index (and so its digest).
  const names = new Set([...IMAGE_NAMES, 'libfix6', 'fix-data', 'adduser', 'init-system-helpers']);
  const packages = [...MAIN_PACKAGES, ...IMAGE_PACKAGES].filter((p) => names.has(p.name));
  assert.ok(packages.every((p) => (p.compression ?? 'gzip') === 'gzip'));
  return [
    { suite: 'fixture', packages, indexes: ['plain', 'gz'] },
    { suite: 'fixture-updates', packages: UPDATES_PACKAGES, validUntil: 'Fri, 01 Jan 2100 00:00:00 UTC', indexes: ['plain', 'gz'] },
  ];
}

/** A directory holding the golden spec, its keyring and archive (relative to it), unlocked. */
async function goldenWorld(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const built = await buildFixtureArchive(join(dir, 'archive'), goldenSuites());
  await copyFile(built.keyring, join(dir, 'archive.public.asc'));
  const spec = join(dir, 'golden.yaml');
  await writeFile(spec, GOLDEN_SPEC);
  return spec;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strata-build-'));
  archive = await buildFixtureArchive(join(work, 'archive'), servedSuites());
  server = await serveDirectory(join(work, 'archive'));
});

after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

function servedSource(): string {
  return `source:\n  mirror: ${server.url}\n  suites: [fixture, fixture-updates]\n  keyring: ${archive.keyring}\n`;
}

// ---- the image ----

let served: { spec: string; out: string; report: BuildReport; layout: Layout } | undefined;

/** The served archive's image (built once): the golden spec's packages plus xz and zstd members. */
async function servedImage() {
  if (served !== undefined) return served;
  const spec = join(work, 'image.yaml');
  await writeFile(spec, specBody(servedSource(), [...IMAGE_NAMES, 'fixxz', 'fixzstd']));
  await writeLock(spec);
  const out = join(work, 'image.oci');
  const report = await build(spec, join(work, 'image-cache'), out);
  served = { spec, out, report, layout: await checkLayout(out, report.digest, EPOCH) };
  return served;
}

describe('the image', () => {
  test('validates: our layout and layer checks, oci-image-tool and umoci', async () => {
    requireTool('oci-image-tool');
    requireTool('umoci');
    const { out, report, layout } = await servedImage();
    assert.equal(report.epoch, EPOCH);
    // strata's own validator, with its canonical checks; and it catches one changed byte.
    const own = await validateLayout(out, { canonical: true });
    assert.deepEqual(own.problems, []);
    assert.equal(own.layers, report.platforms[0]!.layers.length);
    const tampered = join(work, 'tampered.oci');
    await cp(out, tampered, { recursive: true });
    const victim = join(tampered, 'blobs', 'sha256', report.platforms[0]!.layers[1]!.digest.slice(7));
    const bytes = await readFile(victim);
    bytes[bytes.length - 9] = bytes[bytes.length - 9]! ^ 1;
    await writeFile(victim, bytes);
    assert.ok((await validateLayout(tampered)).problems.some((p) => /hashes to|uncompresses to|corrupt/.test(p)));
    // The fixture archive's origin is not Debian's and the spec has no base-files: the one warning.
    assert.deepEqual(report.platforms[0]!.warnings, [
      "no package ships /usr/lib/os-release and the suite is not Debian's: scanners will not recognise the distribution (add base-files to packages:)",
    ]);
    // Base, the planner's package layers (docs/layering.md; fixture packages are all tiny, so
    // those that one package alone needs share its layer), effects; every package in exactly one.
    const layers = report.platforms[0]!.layers;
    assert.equal(layout.manifest.layers.length, layers.length);
    assert.deepEqual(layers.map((l) => l.kind), ['base', ...layers.slice(1, -1).map(() => 'packages'), 'effects']);
    const placed = layers.flatMap((l) => l.packages).sort();
    assert.equal(placed.length, 18);
    assert.equal(new Set(placed).size, 18);
    const v = spawnSync('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=latest', out], { encoding: 'utf8' });
    assert.equal(v.status, 0, `oci-image-tool: ${v.stdout}${v.stderr}`);
    assert.match(v.stdout + v.stderr, /Validation succeeded/);
    const unpacked = join(work, 'bundle');
    const u = spawnSync('umoci', ['unpack', '--rootless', '--image', `${out}:latest`, unpacked], { encoding: 'utf8' });
    assert.equal(u.status, 0, `umoci: ${u.stderr}`);
    const root = join(unpacked, 'rootfs');
    const text = (p: string) => readFile(join(root, p), 'utf8');

    // Accounts: base-passwd's masters, the spec's users, system users with fixed IDs.
    assert.equal(fnv1a32('fixd') % 900 + 100, FIXD_ID);
    assert.equal(fnv1a32('fixapp') % 900 + 100, FIXAPP_ID);
    assert.equal(
      await text('etc/passwd'),
      `${bundle(PASSWD_MASTER)}app:x:1000:1000:app:/home/app:/bin/sh\nfixapp:x:${FIXAPP_ID}:${FIXAPP_ID}:fixapp:/var/lib/fixapp:/usr/sbin/nologin\nfixd:x:${FIXD_ID}:${FIXD_ID}:fixd:/var/lib/fixd:/usr/sbin/nologin\n`,
    );
    assert.equal(await text('etc/group'), `${bundle(GROUP_MASTER)}app:x:1000:\nfixapp:x:${FIXAPP_ID}:\nfixd:x:${FIXD_ID}:\n`);
    assert.equal(await text('etc/nsswitch.conf'), NSSWITCH_TEMPLATE);

    // The CA bundle: certificates in byte order of their paths (not locale order), each ending in a newline.
    const ordered = [...CERTS].sort((a, b) => comparePathBytes(a[0], b[0]));
    assert.deepEqual(ordered.map(([p]) => p), ['mozilla/A_Root.crt', 'mozilla/B_Root.crt', 'mozilla/Fő_Tanúsítvány.crt', 'mozilla/a_lower_Root.crt']);
    assert.equal(await text('etc/ssl/certs/ca-certificates.crt'), ordered.map(([, c]) => (c.endsWith('\n') ? c : `${c}\n`)).join(''));
    assert.equal(await readlink(join(root, 'etc/ssl/certs/A_Root.pem')), '/usr/share/ca-certificates/mozilla/A_Root.crt');

    // Time zone.
    assert.equal(await readlink(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Etc/UTC');
    assert.deepEqual(await readFile(join(root, 'usr/share/zoneinfo/Etc/UTC')), TZIF_UTC);
    assert.equal(await text('etc/timezone'), 'Etc/UTC\n');

    // Alternatives: the higher priority wins; a slave whose target slim dropped is not linked.
    assert.equal(await readlink(join(root, 'usr/bin/fixed')), '/etc/alternatives/fixed');
    assert.equal(await readlink(join(root, 'etc/alternatives/fixed')), '/usr/bin/fixed.a');
    assert.equal(existsSync(join(root, 'etc/alternatives/fixed.1.gz')), false);

    // Merged /usr, for packages and for the spec's paths (which must not turn /bin or /var/run into directories).
    assert.equal(await readlink(join(root, 'bin')), 'usr/bin');
    assert.equal(await readlink(join(root, 'var/run')), '/run');
    assert.equal(await readlink(join(root, 'usr/bin/app-tool')), '/usr/bin/fixapp');
    assert.ok((await lstat(join(root, 'run/fixapp'))).isDirectory());
    assert.equal(await readlink(join(root, 'sbin')), 'usr/sbin');
    assert.equal(await readlink(join(root, 'lib')), 'usr/lib');
    assert.equal(await readlink(join(root, 'lib64')), 'usr/lib64');
    assert.ok((await lstat(join(root, 'usr/bin/fixmerged'))).isFile());
    assert.ok((await lstat(join(root, 'usr/sbin/fixmerged-admin'))).isFile());
    assert.ok((await lstat(join(root, 'usr/lib/x86_64-linux-gnu/libfixmerged.so.1'))).isFile());
    assert.equal(await readlink(join(root, 'usr/lib64/ld-fixmerged.so.2')), '/lib/x86_64-linux-gnu/libfixmerged.so.1');

    // Modes (umoci rootless keeps modes, not owners).
    assert.equal((await stat(join(root, 'usr/bin/fixsecret'))).mode & 0o7777, 0o2755);
    assert.equal((await stat(join(root, 'usr/bin/fixsuid'))).mode & 0o7777, 0o4755);
    assert.equal((await stat(join(root, 'tmp'))).mode & 0o7777, 0o1777);
    assert.equal((await stat(join(root, 'root'))).mode & 0o7777, 0o700, 'a spec path below /root keeps /root private');
    assert.equal((await stat(join(root, 'var/lib/fixfiles'))).mode & 0o7777, 0o2770, 'a spec path below a package directory keeps its mode');
    assert.equal((await stat(join(root, 'data'))).mode & 0o7777, 0o750);
    const ino = async (p: string) => (await stat(join(root, p))).ino;
    assert.equal(await ino('usr/bin/fixlink-b'), await ino('usr/bin/fixlink-a'), 'hard links stay hard links');

    // dpkg's view for scanners.
    assert.match(await text('var/lib/dpkg/status.d/fixmerged'), /^Package: fixmerged\nVersion: 1\.0\n/);
    const merged = await text('var/lib/dpkg/status.d/fixmerged.md5sums');
    for (const p of ['bin/fixmerged', 'sbin/fixmerged-admin', 'lib/x86_64-linux-gnu/libfixmerged.so.1', 'usr/bin/fixmerged-usr']) assert.match(merged, new RegExp(`^[0-9a-f]{32}  ${p}$`, 'm'));
    assert.match(await text('var/lib/dpkg/status.d/libfix6.md5sums'), /  lib\/x86_64-linux-gnu\/libfix\.so\.6\n/);
    const files = await text('var/lib/dpkg/status.d/fixfiles.md5sums');
    assert.match(files, /usr\/share\/doc\/fixfiles\/copyright/);
    assert.doesNotMatch(files, /changelog\.Debian|man1|\.mo$|info/m, 'md5sums list only kept files');

    // slim: documentation, man pages, locales, info, lintian and posix/right zoneinfo dropped; copyrights kept.
    for (const p of ['usr/share/doc/fixfiles/copyright', 'usr/share/doc/fixapp/copyright', 'usr/share/doc/fixbase-passwd/copyright']) assert.ok(existsSync(join(root, p)), p);
    for (const p of ['usr/share/doc/fixfiles/changelog.Debian.gz', 'usr/share/doc/fixfiles/NEWS', 'usr/share/doc/fixbase-passwd/README', 'usr/share/man', 'usr/share/locale', 'usr/share/info', 'usr/share/lintian', 'usr/share/zoneinfo/posix', 'usr/share/zoneinfo/right']) {
      assert.equal(existsSync(join(root, p)), false, `${p} is dropped by slim`);
    }
    assert.equal(await text('usr/share/fixfiles/NEWS'), 'news\n', 'a hard link into dropped documentation keeps the content');
    assert.equal(await text(LONG_PATH.slice(1)), 'long\n');
    assert.equal(await readlink(join(root, 'usr/share/fixfiles/long-link')), LONG_PATH);
    assert.equal(await text(NON_ASCII_PATH.slice(1)), 'unicode\n');
    assert.equal(await text('usr/share/fixclash/same'), 'from a\n', 'the replacing package wins');
    assert.equal(existsSync(join(root, 'dev/fixnull')), false);
    assert.equal(existsSync(join(root, 'usr/share/fixfiles/pipe')), false);
    assert.equal(await text('usr/share/fixxz/x'), 'xz data\n');
    assert.equal(await text('usr/share/fixzstd/z'), 'zstd data\n');
    assert.equal(await text('etc/fixapp.conf'), 'port = 80\n');
    assert.equal(await readlink(join(root, 'usr/local/bin/app')), '/usr/bin/fixapp');
  });

  test('layers hold the metadata that scripts would have set: owners, modes, capabilities, clamped times', async () => {
    const { layout, report } = await servedImage();
    const image = flatten(layout.layers);
    const at = (p: string) => {
      const e = image.get(p);
      assert.ok(e !== undefined, `${p} is in the image`);
      return e;
    };
    // dpkg-statoverride --add root shadow 2755: gid 42 from base-passwd's master.
    assert.deepEqual([at('usr/bin/fixsecret').entry.uid, at('usr/bin/fixsecret').entry.gid, at('usr/bin/fixsecret').entry.mode], [0, 42, 0o2755]);
    // setcap cap_net_raw+ep: vfs_cap_data revision 2, effective, permitted CAP_NET_RAW (13).
    const cap = Buffer.alloc(20);
    cap.writeUInt32LE(0x02000001, 0);
    cap.writeUInt32LE(1 << 13, 4);
    assert.deepEqual(at('usr/bin/fixping').entry.xattrs, { 'security.capability': cap });
    assert.equal(at('usr/bin/fixsuid').entry.mode, 0o4755);
    assert.deepEqual([at('var/lib/fixfiles').entry.mode, at('var/lib/fixfiles').entry.gid], [0o2770, 42]);
    assert.deepEqual([at('usr/share/fixfiles/shadowed').entry.mode, at('usr/share/fixfiles/shadowed').entry.gid], [0o640, 42]);
    assert.deepEqual([at('data').entry.uid, at('data').entry.gid, at('data').entry.mode], [1000, 1000, 0o750]);
    assert.deepEqual([at('root').entry.mode, at('tmp').entry.mode], [0o700, 0o1777]);
    // A hard link: size 0, pointing to the first path of its set in the same layer.
    const link = at('usr/bin/fixlink-b');
    assert.deepEqual([link.entry.type, link.entry.linkname, link.entry.size], ['hardlink', 'usr/bin/fixlink-a', 0]);
    assert.equal(at('usr/bin/fixlink-a').layer, link.layer);
    assert.equal(at('usr/share/fixfiles/NEWS').entry.type, 'file');
    // Times: the package's own, clamped to the epoch.
    assert.ok(FUTURE_MTIME > EPOCH);
    assert.equal(at('usr/share/fixfiles/future.txt').entry.mtime, EPOCH);
    // Merged /usr: no layer writes under /bin, /sbin or /lib*; only the base layer's symlinks.
    for (const [i, entries] of layout.layers.entries()) {
      for (const { entry } of entries) {
        const top = entry.path.split('/')[0]!;
        if (['bin', 'sbin', 'lib', 'lib64', 'lib32', 'libx32'].includes(top)) {
          assert.ok(i === 0 && entry.type === 'symlink' && !entry.path.includes('/'), `${entry.path} in layer ${i}`);
        }
      }
    }
    // Config.
    assert.equal(layout.config.config.User, '1000:1000');
    assert.deepEqual(layout.config.config.Entrypoint, ['/usr/bin/fixapp']);
    assert.deepEqual(layout.config.config.Cmd, ['--serve']);
    assert.deepEqual(layout.config.config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8']);
    assert.equal(layout.config.config.WorkingDir, '/data');
    assert.equal(layout.manifest.annotations['org.opencontainers.image.title'], 'strata fixture');
    assert.equal(report.platforms[0]!.layers.filter((l) => l.kind === 'packages').flatMap((l) => l.packages).length, 18);
  });

  test('a package and the one it Replaces in one layer: the replacer still wins (the image does not depend on the plan)', async () => {
    const spec = join(work, 'replaces.yaml');
    await writeFile(spec, `${servedSource()}packages: [fixclash-a, fixclash-b]\nlayers: {budget: 3}\n`);
    await writeLock(spec);
    const out = join(work, 'replaces.oci');
    const report = await build(spec, join(work, 'replaces-cache'), out);
    const layout = await checkLayout(out, report.digest, EPOCH);
    assert.equal(layout.manifest.layers.length, 3, 'base, one package layer, effects');
    assert.deepEqual(report.platforms[0]!.layers[1]!.packages, ['fixclash-b', 'fixclash-a'], 'the replacer comes after what it replaces');
    const same = flatten(layout.layers).get('usr/share/fixclash/same')!;
    assert.equal(same.content.toString(), 'from a\n');
    assert.equal(flatten(layout.layers).get('usr/share/fixclash/only-b')!.content.toString(), 'b\n');
  });
});

// ---- golden digest and perturbations ----

let goldenSpec: string;

describe('zstd layers', () => {
  test('same tar layers and config as gzip, zstd media type and frames, the same bytes with any worker count', async () => {
    const { spec, report: gz } = await servedImage();
    const a = join(work, 'zstd-a.oci');
    const b = join(work, 'zstd-b.oci');
    const za = await build(spec, join(work, 'image-cache'), a, ['--compression', 'zstd', '--workers', '0']);
    const zb = await build(spec, join(work, 'zstd-cache'), b, ['--compression', 'zstd', '--workers', '3']);
    assert.equal(za.digest, zb.digest, 'cold and warm, 0 and 3 workers');
    assert.notEqual(za.digest, gz.digest);
    assert.deepEqual(za.platforms[0]!.layers.map((l) => l.diffId), gz.platforms[0]!.layers.map((l) => l.diffId), 'the same tars');
    assert.equal(za.platforms[0]!.config, gz.platforms[0]!.config, 'the config names DiffIDs only, so it is the same blob');
    const index = JSON.parse(await readFile(join(a, 'index.json'), 'utf8'));
    const manifest = JSON.parse((await blob(a, index.manifests[0].digest)).toString('utf8'));
    assert.ok(manifest.layers.every((l: { mediaType: string }) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'));
    assert.match(manifest.annotations['dev.strata.compressor'], /^strata-zstd\/1 /);
    for (const l of manifest.layers as Array<{ digest: string }>) assert.deepEqual([...(await blob(a, l.digest)).subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
  });
});

describe('reproducibility', () => {
  before(async () => {
    goldenSpec = await goldenWorld(join(work, 'golden-a'));
    const r = await strata(['lock', goldenSpec, '--cache-dir', join(work, 'golden-lock-cache')]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('the fixture archive, its lock and its image are byte-stable: the golden digest', async () => {
    const other = await goldenWorld(join(work, 'golden-b'));
    assertSameTree(await tree(join(work, 'golden-a', 'archive')), await tree(join(work, 'golden-b', 'archive')), 'the archive built twice');
    const r = await strata(['lock', other, '--cache-dir', join(work, 'golden-lock-cache-b')]);
    assert.equal(r.code, 0, r.stderr);
    const lockA = await readFile(goldenSpec.replace(/\.yaml$/, '.lock.json'));
    assert.deepEqual(await readFile(other.replace(/\.yaml$/, '.lock.json')), lockA, 'the lock is the same bytes');
    const a = await build(goldenSpec, join(work, 'golden-cache-a'), join(work, 'golden-a.oci'));
    const b = await build(other, join(work, 'golden-cache-b'), join(work, 'golden-b.oci'));
    assert.equal(b.digest, a.digest);
    assertSameTree(await tree(join(work, 'golden-a.oci')), await tree(join(work, 'golden-b.oci')), 'the image built twice');
    await checkLayout(join(work, 'golden-a.oci'), a.digest, EPOCH);
    // Layers do not depend on the mirror or on the index format: the served image has the same ones.
    const { report } = await servedImage();
    const byPackages = (rep: BuildReport) => new Map(rep.platforms[0]!.layers.filter((l) => l.kind !== 'effects').map((l) => [l.packages.join(' '), l.diffId]));
    const servedLayers = byPackages(report);
    for (const [pkgs, diffId] of byPackages(a)) assert.equal(servedLayers.get(pkgs), diffId, `layer of ${pkgs || 'the base layout'}`);
    assert.equal(a.digest, GOLDEN_DIGEST, 'the golden image moved: find the first differing layer and entry before touching GOLDEN_DIGEST');
  });

  test('rebuilds in child processes give the same bytes under TZ, locale, umask, HOME, cwd, cache and worker changes', async () => {
    const fresh = () => mkdtemp(join(work, 'pcache-'));
    const home = await mkdtemp(join(work, 'home-'));
    const baseEnv = { TZ: 'UTC', LC_ALL: 'C', LANG: 'C', HOME: home };
    const reference = join(work, 'p-reference.oci');
    const warmCache = await fresh();
    const first = await build(goldenSpec, warmCache, reference, ['--workers', '2'], { env: baseEnv, umask: '022' });
    assert.equal(first.digest, GOLDEN_DIGEST);
    assert.ok(first.platforms[0]!.layers.every((l) => !l.cached), 'a cold cache writes every layer');
    const expected = await tree(reference);
    const elsewhere = await mkdtemp(join(tmpdir(), 'strata-cwd-'));
    const otherHome = await mkdtemp(join(work, 'home-other-'));
    const variants: Array<{ name: string; args?: string[]; o: RunOptions; cache?: string; warm?: boolean }> = [
      { name: 'TZ=Pacific/Kiritimati', o: { env: { ...baseEnv, TZ: 'Pacific/Kiritimati' } } },
      { name: 'TZ=America/St_Johns', o: { env: { ...baseEnv, TZ: 'America/St_Johns' } } },
      { name: 'LC_ALL=tr_TR.UTF-8', o: { env: { ...baseEnv, LC_ALL: 'tr_TR.UTF-8', LANG: 'tr_TR.UTF-8' } } },
      { name: 'LC_ALL unset, LANG=de_DE.UTF-8', o: { env: { ...baseEnv, LC_ALL: undefined, LANG: 'de_DE.UTF-8' } } },
      { name: 'umask 077', o: { env: baseEnv, umask: '077' } },
      { name: 'another HOME', o: { env: { ...baseEnv, HOME: otherHome, XDG_CACHE_HOME: join(otherHome, '.cache') } } },
      { name: 'another working directory', o: { env: baseEnv, cwd: elsewhere } },
      { name: '--workers 1', args: ['--workers', '1'], o: { env: baseEnv } },
      { name: '--workers 0 (compression in the main thread)', args: ['--workers', '0'], o: { env: baseEnv } },
      { name: '--workers 7', args: ['--workers', '7'], o: { env: baseEnv } },
      { name: 'STRATA_GZIP=pako (the pure-JS deflate)', o: { env: { ...baseEnv, STRATA_GZIP: 'pako' } } },
      { name: 'warm cache', o: { env: baseEnv }, cache: warmCache, warm: true },
    ];
    await limited(variants, 4, async (v) => {
      const out = join(work, `p-${v.name.replace(/[^A-Za-z0-9]+/g, '_')}.oci`);
      const r = await build(goldenSpec, v.cache ?? (await fresh()), out, v.args ?? ['--workers', '2'], v.o);
      assert.equal(r.digest, GOLDEN_DIGEST, v.name);
      const packageLayers = r.platforms[0]!.layers.filter((l) => l.kind === 'packages');
      assert.ok(packageLayers.every((l) => l.cached === (v.warm === true)), `${v.name}: ${v.warm ? 'every package layer from the cache' : 'a cold cache writes every layer'}`);
      assertSameTree(expected, await tree(out), v.name);
    });
    await rm(elsewhere, { recursive: true, force: true });
  });

  test('oci-archive and docker-archive outputs are the same bytes across processes too', async () => {
    for (const format of ['oci-archive', 'docker-archive']) {
      const a = join(work, `golden-a.${format}.tar`);
      const b = join(work, `golden-b.${format}.tar`);
      const ra = await build(goldenSpec, await mkdtemp(join(work, 'pcache-')), a, ['--format', format, '--workers', '1'], { env: { TZ: 'UTC' }, umask: '022' });
      const rb = await build(goldenSpec, await mkdtemp(join(work, 'pcache-')), b, ['--format', format, '--workers', '3'], { env: { TZ: 'Asia/Kathmandu', LC_ALL: 'tr_TR.UTF-8' }, umask: '077', cwd: tmpdir() });
      assert.equal(ra.digest, GOLDEN_DIGEST);
      assert.equal(rb.digest, GOLDEN_DIGEST);
      assert.ok((await readFile(a)).equals(await readFile(b)), `${format}: the two files differ`);
      const entries = await tarEntries(await readFile(a), format);
      assert.ok(entries.every(({ entry }) => entry.mtime === EPOCH && entry.uid === 0 && entry.gid === 0 && entry.uname === undefined), `${format}: entries carry the epoch and no names`);
      if (format === 'oci-archive') {
        const index = JSON.parse(entries.find(({ entry }) => entry.path === 'index.json')!.content.toString());
        assert.equal(index.manifests[0].digest, GOLDEN_DIGEST);
      }
    }
  });

  test('a faked clock (faketime 2031-01-01) changes nothing', async (t: TestContext) => {
    if (!haveTool('faketime')) {
      t.skip('faketime is not installed (apt-get install faketime; .ci/run installs it)');
      return;
    }
    // faketime reads the date in the local time zone: UTC here and in the build below.
    const check = spawnSync('faketime', ['2031-01-01', process.execPath, '-e', 'process.stdout.write(String(new Date().getUTCFullYear()))'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    assert.equal(check.stdout, '2031', 'faketime fakes the clock of a node process');
    const out = join(work, 'p-faketime.oci');
    const r = await build(goldenSpec, await mkdtemp(join(work, 'pcache-')), out, [], { faketime: '2031-01-01', env: { TZ: 'UTC' } });
    assert.equal(r.digest, GOLDEN_DIGEST);
    assertSameTree(await tree(join(work, 'golden-a.oci')), await tree(out), 'faketime');
  });

  test('shuffled directory order (disorderfs) under the cache and under the spec changes nothing', async (t: TestContext) => {
    requireTool('disorderfs');
    requireTool('fusermount3', 'fuse3');
    try {
      accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    } catch (e) {
      t.skip(`disorderfs cannot mount here: /dev/fuse is not usable (${(e as NodeJS.ErrnoException).code})`);
      return;
    }
    const mounts: string[] = [];
    const mount = async (src: string, label: string) => {
      const mnt = await mkdtemp(join(work, `mnt-${label}-`));
      const r = spawnSync('disorderfs', ['--shuffle-dirents=yes', '--multi-user=no', src, mnt], { encoding: 'utf8' });
      assert.equal(r.status, 0, `disorderfs: ${r.stderr}`);
      mounts.push(mnt);
      return mnt;
    };
    try {
      // A cache that holds the downloaded files but no facts or layers, so the build reads and writes through the shuffle.
      const seeded = await mkdtemp(join(work, 'seeded-'));
      const f = await strata(['fetch', goldenSpec, '--cache-dir', seeded]);
      assert.equal(f.code, 0, f.stderr);
      const copy = await mkdtemp(join(work, 'seeded-copy-'));
      await cp(seeded, copy, { recursive: true });
      const cacheMnt = await mount(copy, 'cache');
      const viaCache = await build(goldenSpec, cacheMnt, join(work, 'p-disorder-cache.oci'));
      assert.ok(viaCache.platforms[0]!.layers.every((l) => !l.cached));
      // The spec, its lock, keyring and archive, read through a shuffled mount.
      const specCopy = await mkdtemp(join(work, 'spec-copy-'));
      await cp(dirname(goldenSpec), specCopy, { recursive: true });
      const specMnt = await mount(specCopy, 'spec');
      const viaSpec = await build(join(specMnt, 'golden.yaml'), await mkdtemp(join(work, 'pcache-')), join(work, 'p-disorder-spec.oci'));
      const expected = await tree(join(work, 'golden-a.oci'));
      for (const [name, r] of [['cache', viaCache], ['spec', viaSpec]] as const) {
        assert.equal(r.digest, GOLDEN_DIGEST, name);
        assertSameTree(expected, await tree(join(work, `p-disorder-${name}.oci`)), `disorderfs under the ${name}`);
      }
    } finally {
      for (const m of mounts) spawnSync('fusermount3', ['-u', m]);
    }
  });
});

// ---- bad input ----

describe('bad input: a clear error, and no output left behind', () => {
  let keep: string;
  let keepTree: Map<string, Buffer | 'dir'>;

  before(async () => {
    // An image from an earlier, successful build: a failing build must leave it as it was.
    const { out } = await servedImage();
    keep = join(work, 'keep.oci');
    await cp(out, keep, { recursive: true });
    keepTree = await tree(keep);
  });

  let n = 0;
  /** Builds spec twice: into a fresh -o (must not appear) and over an existing image (must stay intact). */
  async function refused(spec: string, code: string, message: RegExp, opts: { cache?: string } = {}): Promise<{ message: string; hint?: string; detail?: Record<string, unknown> }> {
    const dir = join(work, `fail-${++n}`);
    await mkdir(dir);
    const out = join(dir, 'image.oci');
    const cache = opts.cache ?? join(work, 'bad-cache');
    const [fresh, over] = await Promise.all([
      strata(['build', spec, '--cache-dir', cache, '-o', out, '--json']),
      strata(['build', spec, '--cache-dir', cache, '-o', keep, '--json']),
    ]);
    for (const r of [fresh, over]) {
      assert.equal(r.code, 1, `expected a failure, got ${r.code}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      const error = JSON.parse(r.stderr.trim().split('\n').pop()!).error;
      assert.equal(error.code, code, r.stderr);
      assert.match(error.message, message);
    }
    assert.equal(existsSync(out), false, 'no output');
    assert.deepEqual(await readdir(dir), [], 'no partial output or temporary sibling');
    assertSameTree(keepTree, await tree(keep), 'an existing image after a failed build');
    assert.deepEqual((await readdir(work)).filter((f) => f.startsWith('.keep.oci')), [], 'no temporary sibling of the existing image');
    return JSON.parse(fresh.stderr.trim().split('\n').pop()!).error;
  }

  async function lockedSpec(name: string, body: string): Promise<string> {
    const spec = join(work, `${name}.yaml`);
    await writeFile(spec, body);
    await writeLock(spec);
    return spec;
  }

  test('a locked .deb that is in neither the cache nor the mirror: DEB_NOT_FOUND with the lock --update hint', async () => {
    const spec = await lockedSpec('gone', `${servedSource()}packages: [fixapp]\n`);
    const filename = archive.debs.get('fixapp_1:3.0-2_amd64')!.filename;
    server.faults.set(filename, { status: 404 });
    try {
      const e = await refused(spec, 'DEB_NOT_FOUND', /fixapp_1:3\.0-2_amd64\.deb .* is in no configured source/, { cache: await mkdtemp(join(work, 'cold-')) });
      assert.match(e.hint!, /strata lock --update/);
    } finally {
      server.faults.clear();
    }
  });

  test('a .deb whose pinned bytes are broken: DEB_INVALID naming the package', async () => {
    const truncatedTar = await lockedSpec('truncated', `${servedSource()}packages: [fixtruncated]\n`);
    await refused(truncatedTar, 'DEB_INVALID', /fixtruncated_1\.0_amd64\.deb data\.tar\.gz: tar is truncated inside \.\/usr\/share\/fixtruncated\/big/);
    const truncatedGzip = await lockedSpec('badgzip', `${servedSource()}packages: [fixbadgzip]\n`);
    await refused(truncatedGzip, 'DEB_INVALID', /fixbadgzip_1\.0_amd64\.deb data\.tar\.gz: corrupt compressed data/);
  });

  test('a .deb with an entry that climbs out of the image: DEB_INVALID naming the package and the path', async () => {
    const dotdot = await lockedSpec('escape', `${servedSource()}packages: [fixescape]\n`);
    const e = await refused(dotdot, 'DEB_INVALID', /fixescape_1\.0_amd64\.deb: entry "\.\.\/x" would be written outside the image/);
    assert.deepEqual(e.detail, { package: 'fixescape', path: '../x' });
    const absolute = await lockedSpec('escape-abs', `${servedSource()}packages: [fixescape-abs]\n`);
    await refused(absolute, 'DEB_INVALID', /fixescape-abs_1\.0_amd64\.deb: entry "\/etc\/\.\.\/\.\.\/x" would be written outside the image/);
  });

  test('a spec with an unknown field: SPEC_INVALID with the line', async () => {
    const spec = join(work, 'unknown.yaml');
    await writeFile(spec, `${servedSource()}packages: [fixapp]\nentrypont: [/usr/bin/fixapp]\n`);
    const e = await refused(spec, 'SPEC_INVALID', /unknown\.yaml:6: entrypont: unknown field \(did you mean "entrypoint"\?\)/);
    assert.equal(e.detail!.line, 6);
  });

  test('an account whose uid is already taken: SPEC_INVALID', async () => {
    const spec = await lockedSpec('clash-uid', `${servedSource()}packages: [fixbase-passwd]\naccounts:\n  groups: [{name: app, gid: 1000}]\n  users: [{name: app, uid: 0, gid: 1000}]\n`);
    await refused(spec, 'SPEC_INVALID', /accounts\.users: uid 0 of app is already user root \(base-passwd\)/);
    const group = await lockedSpec('clash-gid', `${servedSource()}packages: [fixbase-passwd]\naccounts:\n  groups: [{name: app, gid: 42}]\n`);
    await refused(group, 'SPEC_INVALID', /accounts\.groups: gid 42 of app is already group shadow/);
  });

  test('a path outside / in paths: SPEC_INVALID with the line', async () => {
    for (const [bad, why] of [
      ['../x', /"\.\.\/x" must be an absolute path inside the image/],
      ['relative/x', /"relative\/x" must be an absolute path inside the image/],
      ['/srv/../../x', /"\/srv\/\.\.\/\.\.\/x" must not contain \. or \.\. components/],
    ] as const) {
      const spec = join(work, `outside-${++n}.yaml`);
      await writeFile(spec, `${servedSource()}packages: [fixapp]\npaths:\n  - {path: "${bad}", type: directory}\n`);
      await refused(spec, 'SPEC_INVALID', new RegExp(`outside-${n}\\.yaml:7: paths\\[0\\]\\.path: ${why.source}`));
    }
  });

  test('a path below a package\'s symlink in paths: SPEC_INVALID naming the link and its package', async () => {
    const spec = await lockedSpec('below-link', `${servedSource()}packages: [fixmerged]\npaths:\n  - {path: /lib/x86_64-linux-gnu/libfixmerged.so/x, type: file}\n`);
    await refused(spec, 'SPEC_INVALID', /paths: \/usr\/lib\/x86_64-linux-gnu\/libfixmerged\.so\/x is below \/usr\/lib\/x86_64-linux-gnu\/libfixmerged\.so, and fixmerged ships it as a symlink/);
  });

  test('a file owned by an ID no account declares: SPEC_INVALID naming the file and package', async () => {
    const spec = await lockedSpec('owner', `${servedSource()}packages: [fixowner]\n`);
    await refused(spec, 'SPEC_INVALID', /\/usr\/share\/fixowner\/file \(from fixowner\) is owned by uid 4242/);
  });

  test('two packages shipping one path without Replaces: CONFLICT naming both', async () => {
    const spec = await lockedSpec('conflict', `${servedSource()}packages: [fixclash-b, fixclash-c]\n`);
    const e = await refused(spec, 'CONFLICT', /fixclash-b and fixclash-c both ship \/usr\/share\/fixclash\/same/);
    assert.deepEqual(e.detail, { path: '/usr/share/fixclash/same', packages: ['fixclash-b', 'fixclash-c'] });
  });
});
