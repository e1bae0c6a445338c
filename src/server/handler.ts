// Owns the registry's HTTP protocol as a function, `(HttpRequest) => Promise<HttpResponse>`,
// testable without a socket: routes (routes.ts) → the registry → status, headers and body,
// and every error through the one table (http-errors.ts). Request and response are plain
// data rather than the Fetch API's classes, so a blob stays an async iterable of file chunks
// all the way to the socket, never converted to and from web streams (ARCHITECTURE.md).
//
// Every manifest and blob response carries Docker-Content-Digest, Content-Length and
// Content-Type; every /v2/ response carries Docker-Distribution-API-Version.
import { StrataError } from '../errors.js';
import { MEDIA } from '../image/oci.js';
import { digestHex } from '../store/blob-store.js';
import { httpError } from './http-errors.js';
import { homePage } from './home-page.js';
import type { Metrics } from './metrics.js';
import { parseRange } from './range.js';
import type { ManifestResult, Registry } from './registry.js';
import { parseRoute, type Route } from './routes.js';

export interface HttpRequest {
  method: string;
  /** The raw request target: path and query, not decoded. */
  url: string;
  /** Lower-case names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /**
   * Omitted for HEAD; bytes, a Node Readable (piped), an async iterable of chunks, or a pump
   * that calls `write` for each chunk (valid until the promise `write` returns resolves).
   */
  body?: Uint8Array | AsyncIterable<Uint8Array> | BodyPump;
  /** Fields for the request's log line. */
  log: Record<string, unknown>;
}

export interface BodyPump {
  pump(write: (chunk: Uint8Array) => Promise<void>): Promise<void>;
}

/** A response now (a manifest in memory, a refusal) or once it is ready. */
export type Handler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

const API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' };

function header(req: HttpRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function bytesResponse(req: HttpRequest, status: number, contentType: string, bytes: Buffer, extra: Record<string, string> = {}, log: Record<string, unknown> = {}): HttpResponse {
  const res: HttpResponse = { status, headers: { 'content-type': contentType, 'content-length': String(bytes.length), ...extra }, log };
  if (req.method !== 'HEAD') res.body = bytes;
  return res;
}

function json(req: HttpRequest, value: unknown, extra: Record<string, string> = {}, log: Record<string, unknown> = {}): HttpResponse {
  return bytesResponse(req, 200, 'application/json', Buffer.from(JSON.stringify(value)), { ...API_VERSION, ...extra }, log);
}

/** Pagination of a sorted list (tags/list, _catalog): `n` items after `last`, and the Link to the next page. */
function paginate(items: string[], n: number | undefined, last: string | undefined, path: string): { page: string[]; link?: string } {
  const from = last === undefined ? 0 : items.findIndex((t) => t > last);
  const rest = from < 0 ? [] : items.slice(from);
  if (n === undefined || rest.length <= n) return { page: rest };
  const page = rest.slice(0, n);
  return { page, link: `<${path}?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"` };
}

function notModified(req: HttpRequest, digest: string): boolean {
  const inm = header(req, 'if-none-match');
  return inm !== undefined && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${digest}"`);
}

export function createHandler(registry: Registry, metrics: Metrics, hostOf: (req: HttpRequest) => string = (r) => header(r, 'host') ?? 'localhost:5000'): Handler {
  const manifestHeaders = new Map<string, Record<string, string>>();
  function manifestResponse(req: HttpRequest, m: ManifestResult): HttpResponse {
    const log = { via: m.via, digest: m.digest };
    if (notModified(req, m.digest)) return { status: 304, headers: { ...API_VERSION, 'docker-content-digest': m.digest, etag: `"${m.digest}"` }, log };
    // The headers of a manifest never change: built once per digest, shared by responses.
    let headers = manifestHeaders.get(m.digest);
    if (headers === undefined) {
      headers = { 'content-type': m.mediaType, 'content-length': String(m.bytes.length), ...API_VERSION, 'docker-content-digest': m.digest, etag: `"${m.digest}"` };
      if (manifestHeaders.size >= 10_000) manifestHeaders.clear();
      manifestHeaders.set(m.digest, headers);
    }
    const res: HttpResponse = { status: 200, headers, log };
    if (req.method !== 'HEAD') res.body = m.bytes;
    return res;
  }
  async function route(req: HttpRequest, r: Route): Promise<HttpResponse> {
    switch (r.kind) {
      case 'home': {
        const html = (header(req, 'accept') ?? '').includes('text/html');
        return bytesResponse(req, 200, html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8', Buffer.from(homePage(registry, hostOf(req), html)));
      }
      case 'metrics':
        return bytesResponse(req, 200, 'text/plain; version=0.0.4; charset=utf-8', Buffer.from(metrics.render()));
      case 'build-document': {
        const bytes = await registry.buildDocument(r.name, r.tag, r.document);
        return bytesResponse(req, 200, r.document === 'spec' ? 'application/yaml; charset=utf-8' : 'application/json', bytes);
      }
      case 'base':
        return json(req, {});
      case 'catalog': {
        const { page, link } = paginate(await registry.catalog(), r.n, r.last, '/v2/_catalog');
        return json(req, { repositories: page }, link ? { link } : {});
      }
      case 'push':
        registry.resolve(r.name);
        throw new StrataError('UNSUPPORTED', `${req.method} ${req.url.split('?')[0]!.slice(0, 200)}: strata serve builds images from Debian packages on demand and accepts no pushes or deletes`, {
          hint: 'pull NAME:latest to get an image; push to a registry such as docker-registry instead',
        });
      case 'manifest':
        return manifestResponse(req, await registry.manifest(r.name, r.reference, req.headers.accept));
      case 'blob': {
        registry.resolve(r.name);
        digestHex(r.digest);
        const stat = await registry.store.stat(r.digest);
        if (stat === undefined) throw new StrataError('BLOB_UNKNOWN', `no blob ${r.digest} in this registry`, { hint: 'blobs appear once an image that holds them is pulled by name' });
        const headers: Record<string, string> = { ...API_VERSION, 'docker-content-digest': r.digest, etag: `"${r.digest}"`, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
        const log = { digest: r.digest };
        if (notModified(req, r.digest)) return { status: 304, headers, log };
        if (registry.store.url !== undefined && req.method === 'GET' && header(req, 'range') === undefined) {
          const url = await registry.store.url(r.digest);
          if (url !== undefined) return { status: 307, headers: { ...headers, location: url, 'content-length': '0' }, log: { ...log, redirect: true } };
        }
        const range = parseRange(header(req, 'range'), stat.size);
        const length = range === undefined ? stat.size : range.end - range.start + 1;
        headers['content-length'] = String(length);
        if (range !== undefined) headers['content-range'] = `bytes ${range.start}-${range.end}/${stat.size}`;
        const res: HttpResponse = { status: range === undefined ? 200 : 206, headers, log };
        if (req.method !== 'HEAD' && length > 0) {
          const { store } = registry;
          if (store.pump !== undefined) {
            const digest = r.digest;
            res.body = {
              async pump(write) {
                if (!(await store.pump!(digest, range, write))) throw new StrataError('BLOB_UNKNOWN', `${digest} vanished from the store while it was being sent`);
              },
            };
          } else {
            const body = await store.read(r.digest, range);
            if (body === undefined) throw new StrataError('BLOB_UNKNOWN', `no blob ${r.digest} in this registry`);
            res.body = body;
          }
        }
        return res;
      }
      case 'tags': {
        const { name, tags } = await registry.tags(r.name);
        const { page, link } = paginate(tags, r.n, r.last, `/v2/${r.name}/tags/list`);
        return json(req, { name, tags: page }, link ? { link } : {});
      }
      case 'referrers': {
        registry.resolve(r.name);
        const { bytes, filtered } = await registry.referrers(r.name, r.digest, r.artifactType);
        return bytesResponse(req, 200, MEDIA.index, bytes, { ...API_VERSION, ...(filtered ? { 'oci-filters-applied': 'artifactType' } : {}) });
      }
    }
  }

  function failure(req: HttpRequest, kind: string, e: unknown): HttpResponse {
    const err = httpError(e);
    const v2 = req.url.startsWith('/v2');
    const headers = { ...(v2 ? API_VERSION : {}), ...err.headers, 'content-type': 'application/json', 'content-length': String(err.body.length) };
    const res: HttpResponse = { status: err.status, headers, log: { route: kind, error: err.error.code } };
    if (err.status >= 500 && err.error.code === 'INTERNAL') res.log.detail = err.error.message;
    if (req.method !== 'HEAD') res.body = err.body;
    return res;
  }

  // A manifest already in memory is answered at once, without a promise (the hot path: an
  // image pulled again); everything else goes through route().
  return (req) => {
    let kind = 'unknown';
    try {
      const r = parseRoute(req.method, req.url);
      kind = r.kind;
      if (r.kind === 'manifest') {
        const m = registry.cachedManifest(r.name, r.reference, req.headers.accept);
        if (m !== undefined) {
          const res = manifestResponse(req, m);
          res.log.route = kind;
          return res;
        }
      }
      return route(req, r).then(
        (res) => {
          res.log.route = kind;
          return res;
        },
        (e: unknown) => failure(req, kind, e),
      );
    } catch (e) {
      return failure(req, kind, e);
    }
  };
}
