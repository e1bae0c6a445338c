// Owns the rootfs cache (the cache's rootfs/ area, src/cache/cache-dir.ts): unpacked layers
// content-addressed by DiffID, environments assembled from them and keyed by their layer
// list, target records (what a spec and lock, a package list or an image resolves to, with
// its config), markers of running sandboxes, and the listing, sizes and garbage collection
// behind `strata cache ls|du|gc`. A record's modification time is when it was last used.
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { canonicalJson } from '../digest/canonical-json.js';
import { sha256Hex, type Sha256Hex } from '../digest/sha256.js';
import type { Compression } from '../archive/decompress.js';
import type { CacheDir } from '../cache/cache-dir.js';
import { STRATA_VERSION } from '../version.js';
import { assembleTree } from './assemble.js';
import { unpackLayerBlob, type LayerBytes } from './unpack-layer.js';

/** Bump when an environment's tree would differ for the same layers. */
export const ENV_FORMAT = 2;

export interface EnvConfig {
  user?: string;
  env: string[];
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
  /** The image's Volumes: directories the program writes to; `run` gives each a fresh tmpfs. */
  volumes?: string[];
}

export interface TargetRecord {
  format: number;
  kind: 'spec' | 'adhoc' | 'image';
  /** What the user named: a spec path, a package list, a layout. */
  name: string;
  architecture: string;
  envKey: Sha256Hex;
  /** DiffIDs, lowest first. */
  layers: string[];
  config: EnvConfig;
  /** name=version of every package, when the environment comes from a lock. */
  packages?: string[];
  /** Packages added so that a shell has a shell. */
  addedShell?: string[];
  lockDigest?: string;
  manifestDigest?: string;
}

export interface LayerSource {
  diffId: string;
  /** The stored (compressed) bytes: a blob file's path, or a stream of them. */
  blob: LayerBytes;
  compression: Compression;
}

export function targetKey(parts: Record<string, unknown>): Sha256Hex {
  return sha256Hex(canonicalJson({ format: ENV_FORMAT, strata: STRATA_VERSION, ...parts }));
}

export function envKeyOf(layers: string[]): Sha256Hex {
  return sha256Hex(canonicalJson({ format: ENV_FORMAT, layers }));
}

const hexOf = (diffId: string) => diffId.replace(/^sha256:/, '');

/** Removes a tree even where a directory lacks its owner's write bit (an image may ship one). */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES' && (e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    const unlock = async (p: string): Promise<void> => {
      const st = await lstat(p).catch(() => undefined);
      if (st === undefined || !st.isDirectory()) return;
      await chmod(p, (st.mode & 0o7777) | 0o700).catch(() => undefined);
      for (const name of await readdir(p).catch(() => [] as string[])) await unlock(join(p, name));
    };
    await unlock(path);
    await rm(path, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface CachedEnv {
  envKey: Sha256Hex;
  targets: Array<{ key: Sha256Hex; record: TargetRecord; lastUsed: Date }>;
  layers: string[];
  inUse: boolean;
  lastUsed: Date;
}

export interface AreaUsage {
  area: string;
  bytes: number;
  files: number;
}

export interface GcResult {
  environments: number;
  layers: number;
  targets: number;
  tempFiles: number;
  bytes: number;
}

export class RootfsCache {
  readonly cache: CacheDir;

  constructor(cache: CacheDir) {
    this.cache = cache;
  }

  private targetPath(key: Sha256Hex): string {
    return this.cache.path('rootfs', 'targets', `${key}.json`);
  }

  private envRecordPath(envKey: Sha256Hex): string {
    return `${this.cache.envTreePath(envKey)}.json`;
  }

  /** The record of a target whose environment is present, or undefined. */
  async readTarget(key: Sha256Hex): Promise<TargetRecord | undefined> {
    let record: TargetRecord;
    try {
      record = JSON.parse(await readFile(this.targetPath(key), 'utf8')) as TargetRecord;
    } catch {
      return undefined;
    }
    if (record.format !== ENV_FORMAT) return undefined;
    try {
      if (!(await stat(this.cache.envTreePath(record.envKey))).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
    return record;
  }

  /** Records what a target resolves to, in this version's format (readTarget skips any other). */
  async writeTarget(key: Sha256Hex, record: Omit<TargetRecord, 'format'>): Promise<TargetRecord> {
    const full: TargetRecord = { format: ENV_FORMAT, ...record };
    await this.cache.writeAtomic(`rootfs/targets/${key}.json`, JSON.stringify(full, null, 2));
    return full;
  }

  /** Marks a target as used now. */
  async touch(key: Sha256Hex): Promise<void> {
    const now = new Date();
    await utimes(this.targetPath(key), now, now).catch(() => undefined);
  }

  /** Unpacks a layer unless its tree is already there; returns the tree's path. */
  async ensureLayer(layer: LayerSource): Promise<string> {
    const target = this.cache.layerTreePath(hexOf(layer.diffId));
    try {
      await stat(target);
      return target;
    } catch {
      // unpack it
    }
    await unpackLayerBlob(layer.blob, layer.compression, layer.diffId, target, this.cache.tempPath(`layer-${hexOf(layer.diffId).slice(0, 12)}`));
    return target;
  }

  /** Assembles the environment of these layers (unpacked already) unless it exists. */
  async ensureEnv(layers: string[]): Promise<{ envKey: Sha256Hex; root: string; created: boolean }> {
    const envKey = envKeyOf(layers);
    const root = this.cache.envTreePath(envKey);
    try {
      await stat(root);
      return { envKey, root, created: false };
    } catch {
      // assemble it
    }
    const temp = this.cache.tempPath(`env-${envKey.slice(0, 12)}`);
    try {
      await assembleTree(layers.map((d) => this.cache.layerTreePath(hexOf(d))), temp);
      await this.cache.writeAtomic(`rootfs/envs/${envKey}.json`, JSON.stringify({ format: ENV_FORMAT, layers }, null, 2));
      await mkdir(join(root, '..'), { recursive: true });
      try {
        await rename(temp, root);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        await removeTree(temp);
      }
    } catch (e) {
      await removeTree(temp);
      if (e instanceof StrataError) throw e;
      throw new StrataError('CACHE_ERROR', `cannot assemble the environment in ${this.cache.root}: ${(e as Error).message}`, { cause: e });
    }
    return { envKey, root, created: true };
  }

  /** Marks an environment as in use by this process until the returned function is called. */
  async markInUse(envKey: Sha256Hex): Promise<() => Promise<void>> {
    const dir = this.cache.path('rootfs', 'in-use');
    await mkdir(dir, { recursive: true });
    const marker = join(dir, `${envKey}.${process.pid}`);
    await writeFile(marker, '');
    return () => rm(marker, { force: true });
  }

  private async inUse(): Promise<Set<string>> {
    const out = new Set<string>();
    const dir = this.cache.path('rootfs', 'in-use');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /^([0-9a-f]{64})\.(\d+)$/.exec(name);
      if (m === null) continue;
      if (processAlive(Number(m[2]))) out.add(m[1]!);
      else await rm(join(dir, name), { force: true });
    }
    return out;
  }

  /** Every environment with the targets that use it, most recently used first (ties: key). */
  async list(): Promise<CachedEnv[]> {
    const envs = new Map<string, CachedEnv>();
    const inUse = await this.inUse();
    for (const name of (await readdir(this.cache.path('rootfs', 'envs')).catch(() => [] as string[])).sort()) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (m === null) continue;
      let layers: string[] = [];
      try {
        layers = (JSON.parse(await readFile(this.cache.path('rootfs', 'envs', name), 'utf8')) as { layers: string[] }).layers;
      } catch {
        // an unreadable record: the environment is listed without layers
      }
      envs.set(m[1]!, { envKey: m[1]!, targets: [], layers, inUse: inUse.has(m[1]!), lastUsed: new Date(0) });
    }
    for (const name of (await readdir(this.cache.path('rootfs', 'targets')).catch(() => [] as string[])).sort()) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (m === null) continue;
      const path = this.cache.path('rootfs', 'targets', name);
      try {
        const record = JSON.parse(await readFile(path, 'utf8')) as TargetRecord;
        const lastUsed = (await stat(path)).mtime;
        const env = envs.get(record.envKey);
        if (env === undefined) continue;
        env.targets.push({ key: m[1]!, record, lastUsed });
        if (lastUsed > env.lastUsed) env.lastUsed = lastUsed;
      } catch {
        // skip a record being written
      }
    }
    return [...envs.values()].sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime() || (a.envKey < b.envKey ? -1 : 1));
  }

  /** Disk use by area; a file hard-linked in several places counts once, in the first area. */
  async du(): Promise<AreaUsage[]> {
    const seen = new Set<string>();
    const areas: Array<[string, string[]]> = [
      ['downloads and layer blobs', ['blobs']],
      ['parsed indexes and signatures', ['index', 'verified']],
      ['package facts and layer records', ['facts', 'layers', 'selftest']],
      ['locks of ad-hoc environments', ['locks']],
      ['unpacked layers', ['rootfs/layers']],
      ['environments', ['rootfs/envs', 'rootfs/targets', 'rootfs/in-use']],
      ['temporary files', ['tmp']],
    ];
    const out: AreaUsage[] = [];
    for (const [area, dirs] of areas) {
      const usage: AreaUsage = { area, bytes: 0, files: 0 };
      const walk = async (p: string): Promise<void> => {
        const st = await lstat(p).catch(() => undefined);
        if (st === undefined) return;
        const id = `${st.dev}:${st.ino}`;
        if (!seen.has(id)) {
          seen.add(id);
          usage.bytes += st.blocks * 512;
          usage.files++;
        }
        if (st.isDirectory()) for (const name of await readdir(p).catch(() => [] as string[])) await walk(join(p, name));
      };
      for (const d of dirs) await walk(this.cache.path(d));
      out.push(usage);
    }
    return out;
  }

  /**
   * Removes environments last used before `olderThan` (all with `all`), except those in use,
   * their target records, every unpacked layer no remaining environment uses, and temporary
   * files older than an hour. Downloads, indexes and locks stay: they are what makes the
   * next environment of the same lock the same.
   */
  async gc(opts: { olderThan: Date; all: boolean; now: Date }): Promise<GcResult> {
    const before = (await this.du()).filter((a) => a.area === 'unpacked layers' || a.area === 'environments' || a.area === 'temporary files').reduce((n, a) => n + a.bytes, 0);
    const result: GcResult = { environments: 0, layers: 0, targets: 0, tempFiles: 0, bytes: 0 };
    const keep = new Set<string>();
    for (const env of await this.list()) {
      if (env.inUse || (!opts.all && env.lastUsed >= opts.olderThan)) {
        env.layers.forEach((l) => keep.add(hexOf(l)));
        continue;
      }
      for (const t of env.targets) {
        await rm(this.targetPath(t.key), { force: true });
        result.targets++;
      }
      await removeTree(this.cache.envTreePath(env.envKey));
      await rm(this.envRecordPath(env.envKey), { force: true });
      result.environments++;
    }
    // Trees without a record (an interrupted assembly) and targets whose environment is gone.
    for (const name of await readdir(this.cache.path('rootfs', 'envs')).catch(() => [] as string[])) {
      if (/^[0-9a-f]{64}$/.test(name) && !(await stat(this.envRecordPath(name)).then(() => true, () => false))) {
        await removeTree(this.cache.envTreePath(name));
        result.environments++;
      }
    }
    for (const name of await readdir(this.cache.path('rootfs', 'targets')).catch(() => [] as string[])) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (m !== null && (await this.readTarget(m[1]!)) === undefined) {
        await rm(this.targetPath(m[1]!), { force: true });
        result.targets++;
      }
    }
    const hourAgo = opts.now.getTime() - 3600_000;
    for (const name of await readdir(this.cache.path('rootfs', 'layers')).catch(() => [] as string[])) {
      if (keep.has(name)) continue;
      // A layer unpacked in the last hour may be waiting for an assembly in another process.
      const st = await lstat(join(this.cache.path('rootfs', 'layers'), name)).catch(() => undefined);
      if (st === undefined || (!opts.all && st.ctime.getTime() > hourAgo)) continue;
      await removeTree(join(this.cache.path('rootfs', 'layers'), name));
      result.layers++;
    }
    for (const name of await readdir(this.cache.path('tmp')).catch(() => [] as string[])) {
      const p = this.cache.path('tmp', name);
      const st = await lstat(p).catch(() => undefined);
      if (st === undefined || st.mtime.getTime() > hourAgo) continue;
      await removeTree(p);
      result.tempFiles++;
    }
    const after = (await this.du()).filter((a) => a.area === 'unpacked layers' || a.area === 'environments' || a.area === 'temporary files').reduce((n, a) => n + a.bytes, 0);
    result.bytes = Math.max(0, before - after);
    return result;
  }
}
