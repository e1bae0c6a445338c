// Owns the socket: the only part of the server that touches node:http. It turns requests
// into HttpRequest values for the handler and HttpResponses back into bytes (a blob stays a
// Node stream, piped with back-pressure), enforces the limits the handler cannot see (header
// block size, request bodies, slow clients), and reports one log entry per request when the
// response has finished or the client went away.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StrataError } from '../errors.js';
import type { Handler, HttpResponse } from './handler.js';
import { httpError } from './http-errors.js';

export interface RequestLog {
  kind: 'request';
  time: string;
  method: string;
  path: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** From the request's arrival to the last byte handed to the socket. */
  ms: number;
  remote: string;
  /** The client went away before the whole response was sent. */
  aborted?: boolean;
  [field: string]: unknown;
}

export interface ListenOptions {
  host: string;
  port: number;
  /** The largest header block accepted (request line included); larger gets 431. */
  headerBytes: number;
  /** The largest request body accepted; larger gets 413. */
  bodyBytes: number;
  /** Time allowed to send the request headers. */
  headersTimeoutMs?: number;
  onRequest?: (entry: RequestLog) => void;
}

export interface Listening {
  url: string;
  port: number;
  host: string;
  /** Stops accepting, lets running responses finish for up to `graceMs`, then cuts them. */
  close(graceMs?: number): Promise<void>;
}

function errorResponse(e: unknown, head: boolean): HttpResponse {
  const err = httpError(e);
  const res: HttpResponse = { status: err.status, headers: { ...err.headers, 'content-type': 'application/json', 'content-length': String(err.body.length), connection: 'close' }, log: { error: err.error.code } };
  if (!head) res.body = err.body;
  return res;
}

/** Writes chunks as the socket takes them; stops (and ends the source) when the client goes. */
async function writeChunks(res: ServerResponse, body: AsyncIterable<Uint8Array>): Promise<void> {
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  for await (const chunk of body) {
    if (res.destroyed) break;
    if (!res.write(chunk)) await Promise.race([new Promise<void>((resolve) => res.once('drain', resolve)), closed]);
  }
  if (!res.destroyed) res.end();
}

/** A write that resolves once the socket has taken the chunk (so its buffer may be reused). */
function flushedWriter(res: ServerResponse): (chunk: Uint8Array) => Promise<void> {
  let closed = false;
  res.once('close', () => (closed = true));
  return (chunk) =>
    new Promise<void>((resolve, reject) => {
      if (closed || res.destroyed) return reject(new Error('the client went away'));
      const onClose = () => reject(new Error('the client went away'));
      res.once('close', onClose);
      res.write(chunk, (err) => {
        res.off('close', onClose);
        if (err) reject(err);
        else resolve();
      });
    });
}

/** Sends a response; only a streamed body makes it asynchronous. */
function send(res: ServerResponse, out: HttpResponse): Promise<void> | undefined {
  res.writeHead(out.status, out.headers);
  const body = out.body;
  if (body === undefined) {
    res.end();
    return undefined;
  }
  if (body instanceof Uint8Array) {
    res.end(body);
    return undefined;
  }
  return sendStream(res, body);
}

async function sendStream(res: ServerResponse, body: Exclude<HttpResponse['body'], Uint8Array | undefined>): Promise<void> {
  if (body instanceof Readable) {
    await pipeline(body, res);
  } else if ('pump' in body) {
    await body.pump(flushedWriter(res));
    res.end();
  } else {
    await writeChunks(res, body);
  }
}

export function listen(handler: Handler, opts: ListenOptions): Promise<Listening> {
  const server = createServer({
    maxHeaderSize: opts.headerBytes,
    headersTimeout: opts.headersTimeoutMs ?? 20_000,
    requestTimeout: 120_000,
    keepAliveTimeout: 5_000,
  });
  // The time of a log line, formatted once per millisecond (many requests share one).
  let clockMs = 0;
  let clockText = '';
  const now = () => {
    const t = Date.now();
    if (t !== clockMs) {
      clockMs = t;
      clockText = new Date(t).toISOString();
    }
    return clockText;
  };
  const report = (req: IncomingMessage, res: ServerResponse, start: number, out: HttpResponse | undefined, sent: () => number) => {
    if (opts.onRequest === undefined) return;
    const entry: RequestLog = {
      kind: 'request',
      time: now(),
      method: req.method ?? '',
      path: (req.url ?? '').slice(0, 512),
      status: res.statusCode,
      bytes: sent(),
      ms: Math.round((performance.now() - start) * 1000) / 1000,
      remote: req.socket.remoteAddress ?? '',
    };
    if (out !== undefined) for (const k in out.log) entry[k] = out.log[k];
    if (!res.writableFinished) entry.aborted = true;
    opts.onRequest(entry);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const start = performance.now();
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    let out: HttpResponse | undefined;
    const socketBytes = req.socket.bytesWritten;
    // Body bytes: the declared length once finished; what reached the socket when cut short.
    const bodyBytes = () => (out?.body === undefined ? 0 : res.writableFinished ? Number(out.headers['content-length'] ?? 0) : Math.max(0, req.socket.bytesWritten - socketBytes));
    res.once('close', () => report(req, res, start, out, bodyBytes));
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const reading = method === 'GET' || method === 'HEAD';
    const answer = (r: HttpResponse) => {
      out = r;
      if (head && r.body instanceof Readable) r.body.destroy();
      if (head) delete r.body;
      // A push's body is never read: the answer is a refusal, and the connection closes after it.
      if (!reading) r.headers.connection = 'close';
      try {
        send(res, r)?.catch(() => res.destroy());
      } catch {
        res.destroy();
      }
    };
    if (reading && (declared > opts.bodyBytes || (chunked && opts.bodyBytes === 0))) {
      answer(errorResponse(new StrataError('REQUEST_TOO_LARGE', `the request has a body of ${chunked ? 'unknown length' : `${declared} bytes`}; this server accepts at most ${opts.bodyBytes} (limits.body-size)`), head));
    } else {
      let result: HttpResponse | Promise<HttpResponse>;
      try {
        result = handler({ method, url: req.url ?? '/', headers: req.headers });
      } catch (e) {
        result = errorResponse(e, head);
      }
      if (result instanceof Promise) result.then(answer, (e: unknown) => answer(errorResponse(e, head)));
      else answer(result);
    }
    if (reading && (declared > 0 || chunked)) req.resume();
  });

  // Header blocks over the limit, malformed requests, slow headers: answer and close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const message = tooLarge ? `the request headers are larger than ${opts.headerBytes} bytes (limits.header-size)` : `malformed request (${err.code ?? err.message})`;
    const body = JSON.stringify({ errors: [{ code: tooLarge ? 'SIZE_INVALID' : 'UNSUPPORTED', message }] });
    socket.end(`HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    opts.onRequest?.({ kind: 'request', time: new Date().toISOString(), method: '', path: '', status, bytes: Buffer.byteLength(body), ms: 0, remote: (socket as { remoteAddress?: string }).remoteAddress ?? '', error: tooLarge ? 'REQUEST_TOO_LARGE' : 'MALFORMED' });
  });

  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(new StrataError('USAGE', `cannot listen on ${opts.host}:${opts.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`, { cause: e, hint: 'pick another --listen HOST:PORT' }));
    });
    server.listen(opts.port, opts.host, () => {
      const { port, address } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolve({
        url: `http://${host}:${port}`,
        port,
        host: address,
        close: (graceMs = 5_000) =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), graceMs);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
