// Owns the S3 BlobStore: blobs and records as objects of one bucket (path-style requests,
// Signature Version 4, no SDK), so several servers can share one store.
//   <prefix>/blobs/sha256/<hex>   a blob
//   <prefix>/records/<key>        a record
// A PUT in S3 is atomic: the object appears whole or not at all. A blob is hashed before it is
// sent (spooled to a local temp file when it is a stream) and sent with its sha256 as the
// signed payload hash, so the server refuses bytes that do not match: nothing unverified ever
// becomes visible. Optional capabilities: `url` (presigned GETs, when `redirect` is on),
// `writeFile` (a local verified file, sent as it is), `deleteRecord`.
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StrataError } from '../errors.js';
import { checkRecordKey, digestHex, readAll, type BlobStore, type ByteRange } from './blob-store.js';
import { presignQuery, sha256HexOf, signRequest, uriEncode, type S3Credentials } from './s3-sign.js';

export interface S3Options {
  /** http(s)://host:port of the S3 API. */
  endpoint: string;
  bucket: string;
  /** Key prefix inside the bucket (no leading or trailing `/`). */
  prefix?: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Offer presigned URLs, so that clients fetch blobs from S3 directly (a redirect). */
  redirect?: boolean;
  presignSeconds?: number;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

interface S3Response {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
}

function xmlText(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g');
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) out.push(m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
  return out;
}

/** `s3://bucket/prefix` → bucket and prefix; undefined for anything else. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  return m === null ? undefined : { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export class S3Store implements BlobStore {
  readonly description: string;
  private readonly endpoint: URL;
  private readonly creds: S3Credentials;
  private readonly agent: HttpAgent;
  readonly url?: (digest: string) => Promise<string | undefined>;

  private constructor(private readonly opts: S3Options) {
    this.endpoint = new URL(opts.endpoint);
    this.creds = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, region: opts.region ?? 'us-east-1' };
    this.agent = this.endpoint.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
    this.description = `s3://${opts.bucket}${opts.prefix ? `/${opts.prefix}` : ''} at ${this.endpoint.origin}`;
    if (opts.redirect) this.url = async (digest) => this.presign(this.blobKey(digest));
  }

  /** Opens the store, creating the bucket when it does not exist. */
  static async open(opts: S3Options): Promise<S3Store> {
    const store = new S3Store(opts);
    const head = await store.send('HEAD', '', {});
    head.body.resume();
    if (head.status === 404) {
      const made = await store.send('PUT', '', {});
      if (made.status !== 200 && made.status !== 409) await store.fail(made, `cannot create the bucket ${opts.bucket}`);
      made.body.resume();
    } else if (head.status !== 200) {
      await store.fail(head, `cannot reach the bucket ${opts.bucket}`);
    }
    return store;
  }

  private key(rest: string): string {
    return this.opts.prefix ? `${this.opts.prefix}/${rest}` : rest;
  }

  private blobKey(digest: string): string {
    return this.key(`blobs/sha256/${digestHex(digest)}`);
  }

  private recordKey(key: string): string {
    return this.key(`records/${checkRecordKey(key)}`);
  }

  private path(key: string): string {
    return `/${this.opts.bucket}${key === '' ? '' : `/${uriEncode(key, true)}`}`;
  }

  private presign(key: string): string {
    const path = this.path(key);
    const query = presignQuery(this.creds, { path, host: this.endpoint.host, nowMs: Date.now(), expiresSeconds: this.opts.presignSeconds ?? 900 });
    return `${this.endpoint.origin}${path}?${query}`;
  }

  private send(method: string, key: string, opts: { query?: Record<string, string>; headers?: Record<string, string>; body?: Buffer | Readable; payloadSha256?: string; length?: number }): Promise<S3Response> {
    const path = this.path(key);
    const query = opts.query ?? {};
    const headers: Record<string, string> = { host: this.endpoint.host, ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['content-length'] = String(opts.length ?? (opts.body as Buffer).length);
    const signed = signRequest(this.creds, { method, path, query, headers, payloadSha256: opts.payloadSha256 ?? EMPTY_SHA256, nowMs: Date.now() });
    const qs = Object.keys(query).length > 0 ? `?${Object.entries(query).map(([k, v]) => `${uriEncode(k, false)}=${uriEncode(v, false)}`).join('&')}` : '';
    const request = this.endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request({ method, host: this.endpoint.hostname, port: this.endpoint.port, path: `${path}${qs}`, headers: { ...headers, ...signed }, agent: this.agent }, (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      req.on('error', (e) => reject(new StrataError('STORE_ERROR', `${this.description}: ${method} ${key}: ${e.message}`, { cause: e, hint: 'check the S3 endpoint and that it is up' })));
      if (opts.body === undefined) req.end();
      else if (Buffer.isBuffer(opts.body)) req.end(opts.body);
      else opts.body.pipe(req);
    });
  }

  private async fail(res: S3Response, what: string): Promise<never> {
    const text = (await readAll(res.body)).toString('utf8');
    const code = xmlText(text, 'Code')[0] ?? `HTTP ${res.status}`;
    if (code === 'XAmzContentSHA256Mismatch' || code === 'BadDigest') {
      throw new StrataError('DIGEST_INVALID', `${what}: the bytes do not match their digest (${code}); nothing was stored`);
    }
    throw new StrataError('STORE_ERROR', `${what} in ${this.description}: ${code} ${xmlText(text, 'Message')[0] ?? ''}`.trim(), {
      hint: res.status === 403 ? 'check the S3 credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)' : 'check the S3 endpoint and bucket',
    });
  }

  async stat(digest: string): Promise<{ size: number } | undefined> {
    const res = await this.send('HEAD', this.blobKey(digest), {});
    res.body.resume();
    if (res.status === 404) return undefined;
    if (res.status !== 200) return this.fail(res, `cannot stat ${digest}`);
    return { size: Number(res.headers['content-length']) };
  }

  async read(digest: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const headers: Record<string, string> = range === undefined ? {} : { range: `bytes=${range.start}-${range.end}` };
    const res = await this.send('GET', this.blobKey(digest), { headers });
    if (res.status === 404) {
      res.body.resume();
      return undefined;
    }
    if (res.status !== 200 && res.status !== 206) return this.fail(res, `cannot read ${digest}`);
    return res.body;
  }

  /** PUTs a local file whose sha256 is `hex`: S3 checks the bytes against the signed hash. */
  private async putFile(key: string, path: string, size: number, hex: string): Promise<void> {
    const res = await this.send('PUT', key, { body: createReadStream(path, { highWaterMark: 1 << 20 }), length: size, payloadSha256: hex, headers: { 'content-type': 'application/octet-stream' } });
    if (res.status !== 200) return this.fail(res, `cannot write ${key}`);
    res.body.resume();
  }

  async write(digest: string, content: Uint8Array | AsyncIterable<Uint8Array>, size?: number): Promise<void> {
    const hex = digestHex(digest);
    if ((await this.stat(digest)) !== undefined) {
      if (!(content instanceof Uint8Array)) for await (const _ of content) void _;
      return;
    }
    if (content instanceof Uint8Array) {
      const actual = sha256HexOf(content);
      if (actual !== hex || (size !== undefined && size !== content.length)) {
        throw new StrataError('DIGEST_INVALID', `the content written as ${digest} (${size ?? '?'} bytes) is sha256:${actual} (${content.length} bytes); nothing was stored`);
      }
      const res = await this.send('PUT', this.blobKey(digest), { body: Buffer.from(content), payloadSha256: hex, headers: { 'content-type': 'application/octet-stream' } });
      if (res.status !== 200) return this.fail(res, `cannot write ${digest}`);
      res.body.resume();
      return;
    }
    // A stream: spooled to a local temp file while hashed, sent only once verified.
    const temp = join(tmpdir(), `strata-s3-${process.pid}-${randomBytes(8).toString('hex')}`);
    let handle: FileHandle | undefined;
    try {
      handle = await open(temp, 'w');
      const hash = createHash('sha256');
      let written = 0;
      for await (const chunk of content) {
        hash.update(chunk);
        written += chunk.length;
        await handle.write(chunk);
      }
      await handle.close();
      handle = undefined;
      const actual = hash.digest('hex');
      if (actual !== hex || (size !== undefined && written !== size)) {
        throw new StrataError('DIGEST_INVALID', `the content written as ${digest} (${size ?? '?'} bytes) is sha256:${actual} (${written} bytes); nothing was stored`);
      }
      await this.putFile(this.blobKey(digest), temp, written, hex);
    } finally {
      await handle?.close().catch(() => undefined);
      await rm(temp, { force: true });
    }
  }

  async writeFile(digest: string, path: string, size: number): Promise<void> {
    const hex = digestHex(digest);
    if ((await this.stat(digest)) !== undefined) return;
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || s.size !== size) throw new StrataError('INTERNAL', `${path} is not the ${size}-byte blob ${digest} it should be`);
    await this.putFile(this.blobKey(digest), path, size, hex);
  }

  async readRecord(key: string): Promise<Uint8Array | undefined> {
    const res = await this.send('GET', this.recordKey(key), {});
    if (res.status === 404) {
      res.body.resume();
      return undefined;
    }
    if (res.status !== 200) return this.fail(res, `cannot read record ${key}`);
    return readAll(res.body);
  }

  async writeRecord(key: string, bytes: Uint8Array): Promise<void> {
    const body = Buffer.from(bytes);
    const res = await this.send('PUT', this.recordKey(key), { body, payloadSha256: sha256HexOf(body), headers: { 'content-type': 'application/octet-stream' } });
    if (res.status !== 200) return this.fail(res, `cannot write record ${key}`);
    res.body.resume();
  }

  async listRecords(prefix: string): Promise<string[]> {
    if (!prefix.endsWith('/')) throw new StrataError('INTERNAL', `record prefix ${JSON.stringify(prefix)} must end with /`);
    checkRecordKey(prefix.slice(0, -1));
    const full = this.key(`records/${prefix}`);
    const strip = this.key('records/').length;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix: full };
      if (token !== undefined) query['continuation-token'] = token;
      const res = await this.send('GET', '', { query });
      if (res.status !== 200) return this.fail(res, `cannot list records under ${prefix}`);
      const xml = (await readAll(res.body)).toString('utf8');
      keys.push(...xmlText(xml, 'Key').map((k) => k.slice(strip)));
      token = xmlText(xml, 'IsTruncated')[0] === 'true' ? xmlText(xml, 'NextContinuationToken')[0] : undefined;
    } while (token !== undefined);
    return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  async deleteRecord(key: string): Promise<void> {
    const res = await this.send('DELETE', this.recordKey(key), {});
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) return this.fail(res, `cannot delete record ${key}`);
    res.body.resume();
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
