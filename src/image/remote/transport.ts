// Owns HTTP to a registry: TLS by default (with extra CAs from --ca-cert), plain HTTP only
// when asked (--insecure) and only to a loopback address; a time-out on the response headers
// and on every gap in the body; redirects for GET/HEAD (the Authorization header is dropped
// when the host changes, as registries redirect blob downloads to object storage); and
// retries with exponential backoff for what is transient (5xx, 408, 429, dropped or refused
// connections, time-outs). Bodies are factories, so a retry sends the same bytes again.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { StrataError } from '../../errors.js';

export interface TransportOptions {
  /** Plain HTTP (only to loopback hosts). */
  insecure?: boolean;
  /** Extra trusted CA certificates (PEM), besides the system's. */
  ca?: Array<string | Buffer>;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  userAgent?: string;
  /** Called before each retry (for progress and tests). */
  onRetry?: (e: { attempt: number; url: string; reason: string }) => void;
}

export type Body = Buffer | { length: number; open: () => AsyncIterable<Uint8Array> };

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: Body;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  url: string;
  /** The body stream; read it with readBody() or drain it. */
  stream: IncomingMessage;
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET', 'FETCH_TIMEOUT', 'FETCH_TRUNCATED']);

export function transportDefaults(env: NodeJS.ProcessEnv = process.env): Required<Pick<TransportOptions, 'timeoutMs' | 'retries' | 'backoffMs'>> {
  const n = (v: string | undefined, d: number) => (v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : d);
  return { timeoutMs: n(env.STRATA_HTTP_TIMEOUT_MS, 30000), retries: n(env.STRATA_HTTP_RETRIES, 3), backoffMs: 250 };
}

export class Transport {
  readonly options: TransportOptions;
  readonly scheme: 'http' | 'https';

  constructor(options: TransportOptions = {}) {
    this.options = options;
    this.scheme = options.insecure ? 'http' : 'https';
  }

  /** One attempt, no retry; follows redirects for GET and HEAD. */
  async once(req: HttpRequest, redirects = 5): Promise<HttpResponse> {
    const res = await this.send(req);
    if ((req.method === 'GET' || req.method === 'HEAD') && [301, 302, 303, 307, 308].includes(res.status) && res.headers.location && redirects > 0) {
      res.stream.resume();
      const next = new URL(res.headers.location, req.url);
      const headers = { ...(req.headers ?? {}) };
      if (next.host !== new URL(req.url).host) delete headers.Authorization;
      return this.once({ ...req, url: next.toString(), headers }, redirects - 1);
    }
    return res;
  }

  /** Sends with retries on transient failures; a 4xx (other than 408/429) is returned as is. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const retries = this.options.retries ?? 3;
    const backoff = this.options.backoffMs ?? 250;
    for (let attempt = 0; ; attempt++) {
      let reason: string;
      try {
        const res = await this.once(req);
        if (!TRANSIENT_STATUS.has(res.status) || attempt >= retries) return res;
        reason = `HTTP ${res.status}`;
        res.stream.resume();
      } catch (e) {
        if (!isTransient(e) || attempt >= retries) throw wrapNetworkError(e, req.url);
        reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
      this.options.onRetry?.({ attempt: attempt + 1, url: req.url, reason });
      await new Promise((r) => setTimeout(r, backoff * 2 ** attempt));
    }
  }

  private send(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url);
    const timeoutMs = this.options.timeoutMs ?? 30000;
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent ?? 'strata', ...(req.headers ?? {}) };
    const body = req.body;
    if (body !== undefined) headers['Content-Length'] = String(Buffer.isBuffer(body) ? body.length : body.length);
    else if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') headers['Content-Length'] = '0';
    const isHttps = url.protocol === 'https:';
    const options = {
      method: req.method,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      ...(isHttps && this.options.ca !== undefined ? { ca: this.options.ca } : {}),
    };
    return new Promise<HttpResponse>((resolve, reject) => {
      const r = (isHttps ? httpsRequest : httpRequest)(options, (res) => {
        r.setTimeout(0);
        // A stalled body is a time-out too.
        res.setTimeout?.(timeoutMs, () => res.destroy(Object.assign(new Error(`no data from ${url.host} for ${timeoutMs} ms`), { code: 'FETCH_TIMEOUT' })));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, url: req.url, stream: res });
      });
      r.setTimeout(timeoutMs, () => r.destroy(Object.assign(new Error(`no answer from ${url.host} in ${timeoutMs} ms`), { code: 'FETCH_TIMEOUT' })));
      r.on('error', reject);
      if (body === undefined) r.end();
      else if (Buffer.isBuffer(body)) r.end(body);
      else {
        (async () => {
          for await (const chunk of body.open()) {
            if (!r.write(chunk)) await new Promise<void>((ok, fail) => {
              const onDrain = () => {
                r.off('error', onError);
                ok();
              };
              const onError = (e: Error) => {
                r.off('drain', onDrain);
                fail(e);
              };
              r.once('drain', onDrain);
              r.once('error', onError);
            });
          }
          r.end();
        })().catch((e: Error) => r.destroy(e));
      }
    });
  }
}

export function isTransient(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && TRANSIENT_CODES.has(code);
}

function wrapNetworkError(e: unknown, url: string): StrataError {
  if (e instanceof StrataError) return e;
  const err = e as NodeJS.ErrnoException;
  const host = new URL(url).host;
  if (err.code === 'FETCH_TIMEOUT') return new StrataError('FETCH_TIMEOUT', `${host}: ${err.message}`, { hint: 'raise STRATA_HTTP_TIMEOUT_MS, or check the registry', cause: e });
  if (/certificate|self.signed|SSL|TLS|CERT_/i.test(`${err.code ?? ''} ${err.message}`)) {
    return new StrataError('NETWORK_UNREACHABLE', `TLS to ${host} failed: ${err.message}`, {
      hint: 'pass the registry\'s CA with --ca-cert FILE; for a plain-HTTP registry on 127.0.0.1 use --insecure',
      cause: e,
    });
  }
  return new StrataError('NETWORK_UNREACHABLE', `cannot reach ${host}: ${err.message}`, {
    hint: err.code === 'ECONNREFUSED' ? 'is the registry running, and is the port right?' : 'check the address and the network',
    cause: e,
  });
}

/** Reads a whole (small) body; `limit` guards against a runaway answer. */
export async function readBody(res: HttpResponse, limit = 64 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.stream as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > limit) {
        res.stream.destroy();
        throw new StrataError('REGISTRY_ERROR', `${res.url}: the answer is larger than ${limit} bytes`);
      }
      chunks.push(c);
    }
  } catch (e) {
    if (e instanceof StrataError) throw e;
    throw Object.assign(new Error(`the body of ${res.url} was cut short: ${(e as Error).message}`), { code: 'FETCH_TRUNCATED', cause: e });
  }
  return Buffer.concat(chunks);
}

/** Discards a body so the connection can be reused. */
export async function drain(res: HttpResponse): Promise<void> {
  try {
    for await (const _ of res.stream) void _;
  } catch {
    // a body we do not need may fail; nothing depends on it
  }
}
