// Owns the registry's URL space (distribution-spec v1.1 "API", plus strata's own pages): a
// request line → a route, with no I/O. Names are taken from the raw path, never
// percent-decoded, so `%2e%2e` or `..` can only ever fail the name grammar.
import { StrataError } from '../errors.js';

export type Route =
  | { kind: 'home' }
  | { kind: 'metrics' }
  | { kind: 'build-document'; document: 'spec' | 'lock'; name: string; tag: string }
  | { kind: 'base' }
  | { kind: 'catalog'; n?: number; last?: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'tags'; name: string; n?: number; last?: string }
  | { kind: 'referrers'; name: string; digest: string; artifactType?: string }
  | { kind: 'push'; name: string };

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const NO_QUERY = new URLSearchParams();

/** Pagination parameters of tags/list and _catalog. */
function page(query: URLSearchParams): { n?: number; last?: string } {
  const out: { n?: number; last?: string } = {};
  const n = query.get('n');
  if (n !== null) {
    if (!/^[0-9]{1,6}$/.test(n)) throw new StrataError('ROUTE_UNKNOWN', `n=${JSON.stringify(n.slice(0, 20))} is not a number of results`, { hint: 'n is a positive integer; last is the last tag of the previous page' });
    out.n = Number(n);
  }
  const last = query.get('last');
  if (last !== null) out.last = last;
  return out;
}

export function parseRoute(method: string, url: string): Route {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? NO_QUERY : new URLSearchParams(url.slice(q + 1));
  const read = method === 'GET' || method === 'HEAD';
  if (!path.startsWith('/v2')) {
    if (!read) throw new StrataError('UNSUPPORTED', `${method} ${path.slice(0, 200)}: this server only answers GET and HEAD`);
    if (path === '/') return { kind: 'home' };
    if (path === '/metrics') return { kind: 'metrics' };
    if (path === '/strata/spec' || path === '/strata/lock') {
      const name = query.get('name');
      if (name === null) throw new StrataError('ROUTE_UNKNOWN', `${path} needs ?name=IMAGE (and &tag=TAG, default latest)`);
      return { kind: 'build-document', document: path === '/strata/spec' ? 'spec' : 'lock', name, tag: query.get('tag') ?? 'latest' };
    }
    throw new StrataError('ROUTE_UNKNOWN', `there is nothing at ${path.slice(0, 200)}`, { hint: 'GET / says how to use this registry' });
  }
  if (path === '/v2' || path === '/v2/') {
    if (!read) throw new StrataError('UNSUPPORTED', `${method} /v2/ is not supported`);
    return { kind: 'base' };
  }
  if (path === '/v2/_catalog') {
    if (!read) throw new StrataError('UNSUPPORTED', `${method} /v2/_catalog is not supported`);
    return { kind: 'catalog', ...page(query) };
  }
  const rest = path.slice(4);
  // Push endpoints, whatever the method: refused with a message that says why.
  const upload = /^(.+)\/blobs\/uploads(\/.*)?$/.exec(rest);
  if (upload !== null) return { kind: 'push', name: upload[1]! };
  let m = /^(.+)\/manifests\/([^/]+)$/.exec(rest);
  if (m !== null) {
    if (!read) return { kind: 'push', name: m[1]! };
    const reference = m[2]!;
    if (!reference.includes(':') && !TAG.test(reference)) {
      throw new StrataError('MANIFEST_UNKNOWN', `${JSON.stringify(reference.slice(0, 140))} is neither a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}) nor a digest`);
    }
    return { kind: 'manifest', name: m[1]!, reference };
  }
  m = /^(.+)\/blobs\/([^/]+)$/.exec(rest);
  if (m !== null) {
    if (!read) return { kind: 'push', name: m[1]! };
    return { kind: 'blob', name: m[1]!, digest: m[2]! };
  }
  m = /^(.+)\/tags\/list$/.exec(rest);
  if (m !== null && read) return { kind: 'tags', name: m[1]!, ...page(query) };
  m = /^(.+)\/referrers\/([^/]+)$/.exec(rest);
  if (m !== null && read) {
    const r: Route = { kind: 'referrers', name: m[1]!, digest: m[2]! };
    const t = query.get('artifactType');
    if (t !== null) r.artifactType = t;
    return r;
  }
  if (!read) throw new StrataError('UNSUPPORTED', `${method} ${path.slice(0, 200)} is not supported: this registry only serves pulls`);
  throw new StrataError('ROUTE_UNKNOWN', `${path.slice(0, 200)} is no endpoint of the OCI distribution API`, { hint: 'GET / says how to use this registry' });
}
