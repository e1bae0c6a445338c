// Owns getting bytes from an archive into the cache: HTTP(S) with time-outs, retries with
// backoff on transient failures, and file:// or plain paths for local mirrors and vendored
// folders. A download is hashed while it streams into a private temp file and becomes
// visible in the cache only after its size and sha256 match what was expected.
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { StrataError, type ErrorCode } from '../errors.js';
import { createHash } from 'node:crypto';
import type { CacheDir } from '../cache/cache-dir.js';
import type { Sha256Hex } from '../digest/sha256.js';

export interface NetworkOptions {
  /** Time allowed for the response headers, and between two chunks of the body. */
  timeoutMs: number;
  /** Retries after the first attempt, for 5xx, 408, 429, resets, time-outs and truncation. */
  retries: number;
  /** First backoff delay; doubles each retry. */
  backoffMs: number;
}

export const DEFAULT_NETWORK: NetworkOptions = {
  timeoutMs: Number(process.env.STRATA_HTTP_TIMEOUT_MS ?? 30_000),
  retries: Number(process.env.STRATA_HTTP_RETRIES ?? 3),
  backoffMs: 250,
};

export interface DownloadRequest {
  url: string;
  /** Names the file in messages: "InRelease of bookworm", "redis-server_7.0.15-1_amd64.deb". */
  what: string;
  expectSha256?: Sha256Hex;
  expectSize?: number;
  /** Error code when the bytes do not match expectSha256 / expectSize. */
  mismatchCode?: ErrorCode;
  onBytes?: (received: number, total: number | undefined) => void;
}

export interface Downloaded {
  sha256: Sha256Hex;
  size: number;
  path: string;
}

class Retryable extends Error {
  constructor(
    readonly error: StrataError,
  ) {
    super(error.message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isLocal(url: string): boolean {
  return url.startsWith('file:') || url.startsWith('/') || url.startsWith('./') || url.startsWith('../');
}

function localPath(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : url;
}

/**
 * Downloads into the cache. Returns undefined when the server says the file does not exist
 * (404/410, or a missing local file) so callers can try the next source in a chain.
 */
export async function download(cache: CacheDir, req: DownloadRequest, net: NetworkOptions = DEFAULT_NETWORK): Promise<Downloaded | undefined> {
  let lastError: StrataError | undefined;
  for (let attempt = 0; attempt <= net.retries; attempt++) {
    if (attempt > 0) await sleep(net.backoffMs * 2 ** (attempt - 1));
    try {
      return await attemptDownload(cache, req, net);
    } catch (e) {
      if (e instanceof Retryable) {
        lastError = e.error;
        continue;
      }
      throw e;
    }
  }
  const error = lastError!;
  throw new StrataError(error.code, `${error.message} (after ${net.retries + 1} attempts)`, {
    cause: error,
    detail: { url: req.url, attempts: net.retries + 1 },
    hint: error.hint ?? 'check that the mirror is reachable (the host\'s apt sources, or source.mirror in the spec), then retry',
  });
}

async function attemptDownload(cache: CacheDir, req: DownloadRequest, net: NetworkOptions): Promise<Downloaded | undefined> {
  const temp = cache.tempPath(req.what);
  const file = await open(temp, 'w');
  const hash = createHash('sha256');
  let size = 0;
  let committed = false;
  try {
    let total: number | undefined;
    let body: AsyncIterable<Uint8Array>;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), net.timeoutMs);
    };
    if (isLocal(req.url)) {
      const path = localPath(req.url);
      try {
        const handle = await open(path, 'r');
        total = (await handle.stat()).size;
        await handle.close();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
        throw new StrataError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
      }
      body = createReadStream(path, { highWaterMark: 1 << 20 });
    } else {
      let response: Response;
      arm();
      try {
        response = await fetch(req.url, { signal: controller.signal, redirect: 'follow' });
      } catch (e) {
        clearTimeout(timer);
        throw new Retryable(networkError(req, e, controller.signal.aborted, net));
      }
      if (response.status === 404 || response.status === 410) {
        clearTimeout(timer);
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok || response.body === null) {
        clearTimeout(timer);
        await response.body?.cancel();
        const err = new StrataError('FETCH_FAILED', `${req.what}: ${req.url} answered HTTP ${response.status} ${response.statusText}`.trim(), {
          detail: { url: req.url, status: response.status },
        });
        if (response.status >= 500 || response.status === 408 || response.status === 429) throw new Retryable(err);
        throw err;
      }
      const length = response.headers.get('content-length');
      total = length === null ? undefined : Number(length);
      body = response.body as unknown as AsyncIterable<Uint8Array>;
    }
    try {
      for await (const chunk of body) {
        if (!isLocal(req.url)) arm();
        hash.update(chunk);
        size += chunk.byteLength;
        await file.write(chunk);
        req.onBytes?.(size, total ?? req.expectSize);
        if (req.expectSize !== undefined && size > req.expectSize) break;
      }
    } catch (e) {
      throw new Retryable(networkError(req, e, controller.signal.aborted, net));
    } finally {
      clearTimeout(timer);
    }
    if (total !== undefined && size < total) {
      throw new Retryable(
        new StrataError('FETCH_TRUNCATED', `${req.what}: ${req.url} ended after ${size} of ${total} bytes`, { detail: { url: req.url, size, total } }),
      );
    }
    await file.close();
    const sha256 = hash.digest('hex');
    if (req.expectSize !== undefined && size !== req.expectSize) {
      const code: ErrorCode = size < req.expectSize ? 'FETCH_TRUNCATED' : req.mismatchCode ?? 'DEB_HASH_MISMATCH';
      const err = new StrataError(code, `${req.what}: ${req.url} has ${size} bytes, expected ${req.expectSize}`, {
        detail: { url: req.url, size, expectedSize: req.expectSize },
        hint: 'the source serves different bytes than the signed index says; try again later or use another mirror',
      });
      if (code === 'FETCH_TRUNCATED') throw new Retryable(err);
      throw err;
    }
    if (req.expectSha256 !== undefined && sha256 !== req.expectSha256) {
      throw new StrataError(req.mismatchCode ?? 'DEB_HASH_MISMATCH', `${req.what}: ${req.url} has sha256 ${sha256}, expected ${req.expectSha256}`, {
        detail: { url: req.url, sha256, expectedSha256: req.expectSha256 },
        hint: 'the source serves different bytes than the signed index says; nothing was kept. Try again later or use another mirror',
      });
    }
    const path = await cache.commitBlob(temp, sha256);
    committed = true;
    return { sha256, size, path };
  } finally {
    await file.close().catch(() => undefined);
    if (!committed) await rm(temp, { force: true });
  }
}

function networkError(req: DownloadRequest, e: unknown, timedOut: boolean, net: NetworkOptions): StrataError {
  if (timedOut) {
    return new StrataError('FETCH_TIMEOUT', `${req.what}: ${req.url} sent nothing for ${net.timeoutMs} ms`, {
      cause: e,
      detail: { url: req.url, timeoutMs: net.timeoutMs },
      hint: 'the mirror is slow or stuck; retry later, or raise STRATA_HTTP_TIMEOUT_MS',
    });
  }
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  if (/UND_ERR_SOCKET|ECONNRESET|EPIPE|terminated/i.test(`${code} ${(e as Error).message}`)) {
    return new StrataError('FETCH_TRUNCATED', `${req.what}: ${req.url}: the connection closed before the end of the body`, {
      cause: e,
      detail: { url: req.url },
    });
  }
  return new StrataError('NETWORK_UNREACHABLE', `${req.what}: cannot reach ${req.url} (${code || cause?.message || (e as Error).message})`, {
    cause: e,
    detail: { url: req.url, reason: code || undefined },
    hint: 'check the network and the mirror in the host\'s apt sources (or source.mirror in the spec)',
  });
}
