// Owns the archive snapshots the server builds from. A snapshot is the set of verified
// InRelease files of the configured suites (opened like `strata lock` does: signature, index
// hashes, Valid-Until); its tag names it — the newest InRelease date and a digest of the set,
// `20250520T081512Z-3fa2c0de` — so the same archive state has the same tag on every server.
//
// `latest` is the snapshot held now; `refresh()` (on the configured schedule) opens the
// suites again and moves `latest` when an InRelease changed. Every snapshot held is recorded
// in the store (`snapshots/<tag>`), so its tag stays addressable after restarts: an earlier
// snapshot is reopened from the cache by its pinned InRelease hashes (verified again).
import { StrataError, isStrataError } from '../errors.js';
import { canonicalJson } from '../digest/canonical-json.js';
import { sha256Hex } from '../digest/sha256.js';
import type { CacheDir } from '../cache/cache-dir.js';
import type { OpenedSuite } from '../debian/archive.js';
import type { NetworkOptions } from '../debian/download.js';
import { openConfiguredSuites } from '../build/lock.js';
import type { ConfiguredSuite } from '../build/sources.js';
import { readJsonRecord, type BlobStore } from '../store/blob-store.js';

export interface SnapshotRecord {
  tag: string;
  /** sha256 of the canonical list of suites and InRelease digests. */
  id: string;
  /** The newest InRelease Date: the builds' SOURCE_DATE_EPOCH. */
  epoch: number;
  suites: Array<{ suite: string; inRelease: string; size: number; date: string }>;
  /** When this server first held it (informational). */
  firstHeld: string;
}

export interface Snapshot {
  record: SnapshotRecord;
  suites: OpenedSuite[];
}

export type SnapshotEvent =
  | { event: 'snapshot'; tag: string; previous?: string }
  | { event: 'snapshot-refresh-failed'; code: string; message: string; keeping?: string };

export interface SnapshotOptions {
  store: BlobStore;
  cache: CacheDir;
  suites: ConfiguredSuite[];
  architectures: string[];
  net?: NetworkOptions;
  onEvent?: (e: SnapshotEvent) => void;
}

const TAG = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$/;

export function isSnapshotTag(tag: string): boolean {
  return TAG.test(tag);
}

function stamp(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

export function snapshotRecordOf(suites: OpenedSuite[], firstHeld: string): SnapshotRecord {
  const list = suites.map((s) => ({ suite: s.suite, inRelease: s.inRelease.sha256, size: s.inRelease.size, date: s.release.date }));
  const id = sha256Hex(canonicalJson(list.map(({ suite, inRelease }) => ({ suite, inRelease }))));
  const epoch = Math.max(...suites.map((s) => s.release.dateEpoch));
  return { tag: `${stamp(epoch)}-${id.slice(0, 8)}`, id, epoch, suites: list, firstHeld };
}

export class Snapshots {
  private held: Snapshot | undefined;
  /** The last earlier snapshot reopened, kept for the requests that follow. */
  private earlier: Snapshot | undefined;
  private refreshing: Promise<Snapshot> | undefined;
  private reopening = new Map<string, Promise<Snapshot | undefined>>();

  constructor(private readonly opts: SnapshotOptions) {}

  /** The snapshot `latest` names; undefined before the first successful open. */
  get current(): Snapshot | undefined {
    return this.held;
  }

  private async open(pinned?: Record<string, string>): Promise<OpenedSuite[]> {
    const o: Parameters<typeof openConfiguredSuites>[2] = { cache: this.opts.cache, checkValidUntil: pinned === undefined, now: Math.floor(Date.now() / 1000) };
    if (this.opts.net !== undefined) o.net = this.opts.net;
    if (pinned !== undefined) o.pinned = pinned;
    return openConfiguredSuites(this.opts.suites, this.opts.architectures, o);
  }

  /** Opens the suites now; moves `latest` when they changed. Concurrent calls share one open. */
  refresh(): Promise<Snapshot> {
    this.refreshing ??= (async () => {
      try {
        const suites = await this.open();
        const candidate = snapshotRecordOf(suites, new Date().toISOString());
        if (this.held?.record.id === candidate.id) return this.held;
        const known = await readJsonRecord<SnapshotRecord>(this.opts.store, `snapshots/${candidate.tag}`);
        const record = known?.id === candidate.id ? known : candidate;
        if (known === undefined) await this.opts.store.writeRecord(`snapshots/${record.tag}`, Buffer.from(canonicalJson(record)));
        const previous = this.held?.record.tag;
        this.held = { record, suites };
        this.opts.onEvent?.(previous === undefined ? { event: 'snapshot', tag: record.tag } : { event: 'snapshot', tag: record.tag, previous });
        return this.held;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /**
   * The first open at start-up. When the archive cannot be reached, the newest snapshot this
   * store recorded is reopened from the cache, so a restarted server keeps serving.
   */
  async start(): Promise<Snapshot> {
    try {
      return await this.refresh();
    } catch (e) {
      const tags = await this.tags();
      for (const tag of tags.reverse()) {
        const s = await this.byTag(tag).catch(() => undefined);
        if (s !== undefined) {
          this.held = s;
          this.opts.onEvent?.({ event: 'snapshot-refresh-failed', code: isStrataError(e) ? e.code : 'INTERNAL', message: (e as Error).message, keeping: tag });
          return s;
        }
      }
      throw e;
    }
  }

  /** Every snapshot this store has held, oldest first (the tags sort by date). */
  async tags(): Promise<string[]> {
    return (await this.opts.store.listRecords('snapshots/')).map((k) => k.slice('snapshots/'.length)).filter(isSnapshotTag);
  }

  /** The snapshot of a tag: the current one, or an earlier one reopened from the cache. */
  async byTag(tag: string): Promise<Snapshot | undefined> {
    if (this.held?.record.tag === tag) return this.held;
    if (this.earlier?.record.tag === tag) return this.earlier;
    if (!isSnapshotTag(tag)) return undefined;
    let p = this.reopening.get(tag);
    if (p === undefined) {
      p = (async () => {
        const record = await readJsonRecord<SnapshotRecord>(this.opts.store, `snapshots/${tag}`);
        if (record === undefined) return undefined;
        const pinned = Object.fromEntries(record.suites.map((s) => [s.suite, s.inRelease]));
        let suites: OpenedSuite[];
        try {
          suites = await this.open(pinned);
        } catch (e) {
          throw new StrataError('MANIFEST_UNKNOWN', `snapshot ${tag} can no longer be reopened: ${(e as Error).message}`, {
            cause: e,
            hint: 'images built from it are still served by digest; pull :latest for a build from the current snapshot',
          });
        }
        const again = snapshotRecordOf(suites, record.firstHeld);
        if (again.id !== record.id) throw new StrataError('INTERNAL', `snapshot ${tag} reopened as ${again.tag}`);
        const s = { record, suites };
        this.earlier = s;
        return s;
      })().finally(() => this.reopening.delete(tag));
      this.reopening.set(tag, p);
    }
    return p;
  }
}
