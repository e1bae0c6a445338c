// Owns the one table that maps strata's error codes to HTTP statuses and to the error codes of
// the OCI distribution-spec (and of Docker's registry, for the statuses the spec leaves open),
// and renders the spec's error body: {"errors": [{"code", "message", "detail"}]}.
import { StrataError, type ErrorCode } from '../errors.js';

export interface HttpError {
  status: number;
  /** The OCI error code in the body. */
  code: string;
  body: Buffer;
  /** Extra headers (Retry-After, Allow, Content-Range). */
  headers: Record<string, string>;
  error: StrataError;
}

/** strata code → [HTTP status, OCI code]. Anything not listed is a 500 UNKNOWN. */
const TABLE: Partial<Record<ErrorCode, [number, string]>> = {
  NAME_INVALID: [400, 'NAME_INVALID'],
  DIGEST_INVALID: [400, 'DIGEST_INVALID'],
  MANIFEST_UNKNOWN: [404, 'MANIFEST_UNKNOWN'],
  BLOB_UNKNOWN: [404, 'BLOB_UNKNOWN'],
  ROUTE_UNKNOWN: [404, 'UNSUPPORTED'],
  // The name is well formed but no image can exist for it.
  IMAGE_UNKNOWN: [404, 'NAME_UNKNOWN'],
  PACKAGE_UNKNOWN: [404, 'NAME_UNKNOWN'],
  UNSATISFIABLE: [404, 'NAME_UNKNOWN'],
  CONFLICT: [404, 'NAME_UNKNOWN'],
  LIMIT_EXCEEDED: [403, 'DENIED'],
  UNSUPPORTED: [405, 'UNSUPPORTED'],
  REQUEST_TOO_LARGE: [413, 'SIZE_INVALID'],
  RANGE_INVALID: [416, 'RANGE_INVALID'],
  BUSY: [429, 'TOOMANYREQUESTS'],
  // The archive failed us: the mirror, a download, a signature.
  DEB_NOT_FOUND: [502, 'UNAVAILABLE'],
  DEB_HASH_MISMATCH: [502, 'UNAVAILABLE'],
  FETCH_FAILED: [502, 'UNAVAILABLE'],
  FETCH_TIMEOUT: [502, 'UNAVAILABLE'],
  FETCH_TRUNCATED: [502, 'UNAVAILABLE'],
  NETWORK_UNREACHABLE: [502, 'UNAVAILABLE'],
  SIGNATURE_INVALID: [502, 'UNAVAILABLE'],
  SIGNATURE_UNKNOWN_KEY: [502, 'UNAVAILABLE'],
  RELEASE_EXPIRED: [502, 'UNAVAILABLE'],
  INDEX_HASH_MISMATCH: [502, 'UNAVAILABLE'],
  BUILD_TIMEOUT: [503, 'UNAVAILABLE'],
};

const RETRY_AFTER: Partial<Record<ErrorCode, string>> = { BUSY: '30', BUILD_TIMEOUT: '30', FETCH_FAILED: '60', FETCH_TIMEOUT: '60', NETWORK_UNREACHABLE: '60' };

export function httpError(error: unknown): HttpError {
  const e =
    error instanceof StrataError
      ? error
      : new StrataError('INTERNAL', `unexpected error: ${error instanceof Error ? error.message : String(error)}`, { cause: error, hint: 'this is a bug in strata; the server log has the details' });
  const [status, code] = TABLE[e.code] ?? [500, 'UNKNOWN'];
  const detail: Record<string, unknown> = { strataCode: e.code, ...(e.detail ?? {}) };
  if (e.hint !== undefined) detail.hint = e.hint;
  const message = e.hint === undefined ? e.message : `${e.message} (${e.hint})`;
  const body = Buffer.from(JSON.stringify({ errors: [{ code, message, detail }] }));
  const headers: Record<string, string> = {};
  const retry = RETRY_AFTER[e.code];
  if (retry !== undefined) headers['retry-after'] = retry;
  if (e.code === 'UNSUPPORTED') headers.allow = 'GET, HEAD';
  if (e.code === 'RANGE_INVALID' && typeof e.detail?.size === 'number') headers['content-range'] = `bytes */${e.detail.size}`;
  return { status, code, body, headers, error: e };
}
