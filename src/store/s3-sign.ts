// Owns AWS Signature Version 4 for S3 (docs.aws.amazon.com "Signature Version 4 signing
// process"): the canonical request, the string to sign, the signing key, header signing for
// requests and query signing for presigned URLs. Pure functions over a clock value the caller
// passes, so they can be checked against the published examples.
import { createHash, createHmac } from 'node:crypto';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ (and `/` in paths). */
export function uriEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function canonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .map((k) => [uriEncode(k, false), uriEncode(query[k]!, false)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** `20250520T081512Z` and `20250520` of a time in milliseconds. */
export function amzDate(ms: number): { stamp: string; day: string } {
  const stamp = new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return { stamp, day: stamp.slice(0, 8) };
}

function signature(creds: S3Credentials, day: string, stringToSign: string): string {
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), creds.region), 's3'), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

export interface SignInput {
  method: string;
  /** The encoded path, e.g. `/bucket/some/key`. */
  path: string;
  query: Record<string, string>;
  /** Lower-case names; must include host. */
  headers: Record<string, string>;
  payloadSha256: string;
  nowMs: number;
}

/** The Authorization header (and x-amz-date, x-amz-content-sha256 to send with it). */
export function signRequest(creds: S3Credentials, input: SignInput): Record<string, string> {
  const { stamp, day } = amzDate(input.nowMs);
  const headers: Record<string, string> = { ...input.headers, 'x-amz-date': stamp, 'x-amz-content-sha256': input.payloadSha256 };
  const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const canonicalHeaders = names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signed = names.join(';');
  const request = [input.method, input.path, canonicalQuery(input.query), canonicalHeaders, signed, input.payloadSha256].join('\n');
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256(request)].join('\n');
  return {
    'x-amz-date': stamp,
    'x-amz-content-sha256': input.payloadSha256,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature(creds, day, toSign)}`,
  };
}

/** A presigned GET URL's query (host is the only signed header). */
export function presignQuery(creds: S3Credentials, input: { path: string; host: string; nowMs: number; expiresSeconds: number }): string {
  const { stamp, day } = amzDate(input.nowMs);
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const query: Record<string, string> = {
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${creds.accessKeyId}/${scope}`,
    'X-Amz-Date': stamp,
    'X-Amz-Expires': String(input.expiresSeconds),
    'X-Amz-SignedHeaders': 'host',
  };
  const request = ['GET', input.path, canonicalQuery(query), `host:${input.host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256(request)].join('\n');
  return `${canonicalQuery(query)}&X-Amz-Signature=${signature(creds, day, toSign)}`;
}

export { sha256 as sha256HexOf };
