// Owns a running server: the registry, its handler and socket, the metrics they feed, the
// snapshot refresh schedule, and an orderly stop. `strata serve` and the tests start servers
// through `startServer`; everything it would print goes to `onLog` as one JSON-able object
// per request or event.
import type { CacheDir } from '../cache/cache-dir.js';
import type { NetworkOptions } from '../debian/download.js';
import { isStrataError } from '../errors.js';
import type { BlobStore } from '../store/blob-store.js';
import type { BuildEvent } from './builder.js';
import { splitListen, type ServerConfig } from './config.js';
import { createHandler, type Handler } from './handler.js';
import { listen, type Listening, type RequestLog } from './listen.js';
import { Metrics, labelText, type Cell, type HistogramCell } from './metrics.js';
import { Registry } from './registry.js';
import type { SnapshotEvent } from './snapshot.js';

export type LogEntry = RequestLog | ({ kind: 'event'; time: string } & (BuildEvent | SnapshotEvent));

export interface StartOptions {
  config: ServerConfig;
  store: BlobStore;
  cache: CacheDir;
  net?: NetworkOptions;
  workers?: number;
  onLog?: (entry: LogEntry) => void;
  /** Do not open a socket (tests that call the handler directly). */
  noListen?: boolean;
}

export interface RunningServer {
  registry: Registry;
  metrics: Metrics;
  handler: Handler;
  /** Undefined with noListen. */
  listening?: Listening;
  url: string;
  close(): Promise<void>;
}

function wireMetrics(metrics: Metrics, registry: Registry): void {
  metrics.gauge(() => {
    const out: Array<{ name: string; help: string; labels: Record<string, string>; value: number }> = [
      { name: 'strata_builds_running', help: 'Builds running now.', labels: {}, value: registry.builder.running },
      { name: 'strata_builds_waiting', help: 'Builds waiting for a slot.', labels: {}, value: registry.builder.waiting },
    ];
    const s = registry.snapshots.current?.record;
    if (s !== undefined) out.push({ name: 'strata_snapshot_epoch_seconds', help: 'The newest InRelease date of the snapshot latest names.', labels: { tag: s.tag }, value: s.epoch });
    return out;
  });
}

function countEvent(metrics: Metrics, e: BuildEvent | SnapshotEvent): void {
  if (e.event === 'build-done') {
    metrics.inc('strata_builds_total', 'On-demand builds, by result.', { result: 'ok' });
    metrics.observe('strata_build_duration_seconds', 'Time to build an image on demand.', {}, e.ms / 1000);
    metrics.inc('strata_layer_cache_hits_total', 'Package layers taken from the layer cache during builds.', {}, e.cachedLayers);
    metrics.inc('strata_layers_built_total', 'Layers written during builds.', {}, e.layers - e.cachedLayers);
  } else if (e.event === 'build-failed') {
    metrics.inc('strata_builds_total', 'On-demand builds, by result.', { result: e.code });
  } else if (e.event === 'snapshot') {
    metrics.inc('strata_snapshots_total', 'Snapshots taken as latest.', {});
  } else if (e.event === 'snapshot-refresh-failed') {
    metrics.inc('strata_snapshot_refresh_failures_total', 'Snapshot refreshes that failed (latest kept).', {});
  }
}

/** The series a request counts in, found once per route, method and status (this runs for every request). */
interface RequestSeries {
  requests: Cell;
  bytes: Cell;
  duration: HistogramCell;
  /** Manifest requests by how the image was found (hit, build, join, digest). */
  via: Map<string, Cell>;
}

/** `known`: the series found so far for this server's metrics, by route, method and status. */
function countRequest(metrics: Metrics, known: Map<string, RequestSeries>, r: RequestLog): void {
  const route = typeof r.route === 'string' ? r.route : 'invalid';
  const combo = `${route} ${r.method} ${r.status}`;
  let series = known.get(combo);
  if (series === undefined) {
    const routeLabel = labelText({ route });
    series = {
      requests: metrics.counter('strata_http_requests_total', 'HTTP requests, by route, method and status.', { route, method: r.method.slice(0, 16), status: String(r.status) }),
      bytes: metrics.counter('strata_http_response_bytes_total', 'Body bytes sent, by route.', routeLabel),
      duration: metrics.histogram('strata_http_request_duration_seconds', 'Time to answer a request.', routeLabel),
      via: new Map(),
    };
    if (known.size < 1000) known.set(combo, series);
  }
  series.requests.value++;
  series.bytes.value += r.bytes;
  Metrics.observeIn(series.duration, r.ms / 1000);
  if (route === 'manifest' && typeof r.via === 'string') {
    let cell = series.via.get(r.via);
    if (cell === undefined) {
      cell = metrics.counter('strata_manifest_requests_total', 'Manifest requests by how the image was found: hit (stored), build, join (another request\'s build), digest.', { via: r.via });
      if (series.via.size < 16) series.via.set(r.via, cell);
    }
    cell.value++;
  }
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const metrics = new Metrics();
  const log = (entry: LogEntry) => opts.onLog?.(entry);
  const onEvent = (e: BuildEvent | SnapshotEvent) => {
    countEvent(metrics, e);
    log({ kind: 'event', time: new Date().toISOString(), ...e });
  };
  const registryOpts: Parameters<typeof Registry.open>[0] = { config: opts.config, store: opts.store, cache: opts.cache, onEvent };
  if (opts.net !== undefined) registryOpts.net = opts.net;
  if (opts.workers !== undefined) registryOpts.workers = opts.workers;
  const registry = await Registry.open(registryOpts);
  wireMetrics(metrics, registry);
  const handler = createHandler(registry, metrics);
  let listening: Listening | undefined;
  if (!opts.noListen) {
    const { host, port } = splitListen(opts.config.listen);
    const requestSeries = new Map<string, RequestSeries>();
    listening = await listen(handler, {
      host,
      port,
      headerBytes: opts.config.limits.headerBytes,
      bodyBytes: opts.config.limits.bodyBytes,
      onRequest: (r) => {
        countRequest(metrics, requestSeries, r);
        log(r);
      },
    });
  }
  let timer: NodeJS.Timeout | undefined;
  if (opts.config.refreshSeconds > 0) {
    timer = setInterval(() => {
      registry.snapshots.refresh().catch((e: unknown) => {
        const keeping = registry.snapshots.current?.record.tag;
        onEvent({ event: 'snapshot-refresh-failed', code: isStrataError(e) ? e.code : 'INTERNAL', message: (e as Error).message, ...(keeping ? { keeping } : {}) });
      });
    }, opts.config.refreshSeconds * 1000);
    timer.unref();
  }
  return {
    registry,
    metrics,
    handler,
    ...(listening ? { listening } : {}),
    url: listening?.url ?? 'http://in-process',
    async close() {
      if (timer !== undefined) clearInterval(timer);
      await listening?.close();
      await opts.store.close?.();
    },
  };
}
