// Shared by the `strata serve` tests: the hermetic signed archive (amd64 and arm64) served on
// 127.0.0.1, a server configuration pointing at it, in-process servers on a real socket, and
// a raw HTTP client that sends paths exactly as written (fetch would normalise `..`).
import { request } from 'node:http';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheDir } from '../../src/cache/cache-dir.js';
import { defaultServerConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer, type LogEntry, type RunningServer } from '../../src/server/serve.js';
import { FsStore } from '../../src/store/fs-store.js';
import { buildFixtureArchive, buildSuite, type BuiltArchive } from './fixture-archive.js';
import { serveDirectory, type ArchiveServer } from './archive-server.js';
import { MAIN_PACKAGES, UPDATES_PACKAGES } from './fixture-world.js';
import type { FixturePackage } from './make-deb.js';
import { tempDir } from './temp.js';

export const FAST_NET = { timeoutMs: 1500, retries: 1, backoffMs: 10 };

const elf = (tag: string) => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.from(`strata fixture ${tag}\n`)]);

/** Deterministic incompressible bytes (xorshift32). */
function noise(n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** What the serve tests add to the fixture world: what `shell` needs, a name with "+", big blobs. */
export const SERVE_PACKAGES: FixturePackage[] = [
  { name: 'bash', version: '5.2-1', files: [{ path: '/bin/bash', content: elf('bash'), mode: 0o755 }] },
  { name: 'coreutils', version: '9.1-1', files: [{ path: '/bin/ls', content: elf('ls'), mode: 0o755 }, { path: '/usr/bin/env', content: elf('env'), mode: 0o755 }] },
  { name: 'libfix++1', version: '1.0-1', depends: 'libfix6', files: [{ path: '/usr/lib/x86_64-linux-gnu/libfix++.so.1', content: elf('libfix++') }] },
  // Incompressible bytes, so that blob transfers and ranges have something to move.
  { name: 'fixbig', version: '1.0', files: [{ path: '/usr/share/fixbig/blob', content: noise(600_000) }] },
  { name: 'fixtool', version: '1.0', depends: 'libfix6', files: [{ path: '/usr/bin/fixtool', content: elf('fixtool'), mode: 0o755 }] },
];

export interface ServeWorld {
  work: string;
  archiveRoot: string;
  archive: BuiltArchive;
  mirror: ArchiveServer;
  cacheDir: string;
}

export async function makeServeWorld(): Promise<ServeWorld> {
  const work = await tempDir(undefined, 'strata-serve-');
  const archiveRoot = join(work, 'archive');
  const archive = await buildFixtureArchive(archiveRoot, [
    { suite: 'fixture', packages: [...MAIN_PACKAGES, ...SERVE_PACKAGES], architectures: ['amd64', 'arm64'] },
    { suite: 'fixture-updates', packages: UPDATES_PACKAGES, architectures: ['amd64', 'arm64'], validUntil: 'Fri, 01 Jan 2100 00:00:00 UTC' },
  ]);
  const mirror = await serveDirectory(archiveRoot);
  const cacheDir = join(work, 'cache');
  await mkdir(cacheDir, { recursive: true });
  return { work, archiveRoot, archive, mirror, cacheDir };
}

/** A new signed fixture-updates suite (a newer date and libfix6): the archive moves on. */
export async function moveArchiveOn(world: ServeWorld, version = '2.1-1+deb1u2', date = 'Sun, 02 Jan 2022 00:00:00 UTC'): Promise<void> {
  const libfix = { ...UPDATES_PACKAGES[0]!, version, files: [{ path: '/lib/x86_64-linux-gnu/libfix.so.6', content: elf(`libfix ${version}`) }] };
  await buildSuite(world.archiveRoot, { suite: 'fixture-updates', packages: [libfix], architectures: ['amd64', 'arm64'], validUntil: 'Fri, 01 Jan 2100 00:00:00 UTC', date }, world.archive.debs);
}

export function serveConfig(world: ServeWorld, change: (c: ServerConfig) => void = () => undefined): ServerConfig {
  const c = defaultServerConfig();
  c.listen = '127.0.0.1:0';
  c.source = { mirror: world.mirror.url, suites: ['fixture', 'fixture-updates'], keyring: world.archive.keyring };
  c.architectures = ['amd64', 'arm64'];
  c.refreshSeconds = 0;
  c.limits.buildTimeoutMs = 60_000;
  change(c);
  return c;
}

export interface TestServer extends RunningServer {
  logs: LogEntry[];
  storeDir: string;
  host: string;
}

export async function startTestServer(world: ServeWorld, opts: { config?: ServerConfig; storeDir?: string; cacheDir?: string; noListen?: boolean } = {}): Promise<TestServer> {
  const storeDir = opts.storeDir ?? (await mkdtemp(join(world.work, 'store-')));
  const logs: LogEntry[] = [];
  const running = await startServer({
    config: opts.config ?? serveConfig(world),
    store: await FsStore.open(storeDir),
    cache: await CacheDir.open(opts.cacheDir ?? world.cacheDir),
    net: FAST_NET,
    workers: 1,
    onLog: (e) => logs.push(e),
    ...(opts.noListen ? { noListen: true } : {}),
  });
  return { ...running, logs, storeDir, host: running.url.replace(/^http:\/\//, '') };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with the path sent exactly as given. */
export function raw(url: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const headers = { ...(opts.body !== undefined ? { 'content-length': String(opts.body.length) } : {}), ...(opts.headers ?? {}) };
    const req = request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The OCI error code of an error response. */
export function errorCode(r: RawResponse): string | undefined {
  try {
    return (JSON.parse(r.body.toString('utf8')) as { errors: Array<{ code: string }> }).errors[0]?.code;
  } catch {
    return undefined;
  }
}

export async function writeText(path: string, text: string): Promise<string> {
  await writeFile(path, text);
  return path;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const ALL_MANIFESTS = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');
