// Owns strata's error model: one error class with a stable, machine-readable code.
// Every edge (CLI exit codes, HTTP responses) maps these codes in exactly one table;
// messages say what happened and what to do next.

export const ERROR_CODES = {
  USAGE: 'the command line is wrong',
  SPEC_NOT_FOUND: 'the spec file does not exist',
  SPEC_INVALID: 'the spec does not follow docs/spec.md',
  LOCK_NOT_FOUND: 'the lockfile does not exist',
  LOCK_INVALID: 'the lockfile is not a valid strata lockfile',
  LOCK_STALE: 'the lockfile no longer matches the spec',
  APT_SOURCES_NOT_FOUND: 'no usable apt source was found on this host',
  APT_SOURCES_INVALID: 'an apt sources file could not be parsed',
  KEYRING_NOT_FOUND: 'the keyring file does not exist',
  KEYRING_INVALID: 'the keyring holds no usable OpenPGP public key',
  SIGNATURE_INVALID: 'the InRelease signature is not valid',
  SIGNATURE_UNKNOWN_KEY: 'InRelease is signed only by keys outside the keyring',
  RELEASE_INVALID: 'InRelease is malformed',
  RELEASE_EXPIRED: 'InRelease is past its Valid-Until date',
  INDEX_MISSING: 'InRelease does not list the wanted index',
  INDEX_HASH_MISMATCH: 'a downloaded index does not match InRelease',
  INDEX_INVALID: 'a Packages index is malformed',
  DEB_HASH_MISMATCH: 'a downloaded .deb does not match its pinned sha256',
  DEB_NOT_FOUND: 'a locked .deb is in no configured source',
  DEB_INVALID: 'a .deb is malformed',
  FETCH_FAILED: 'the server answered with an error',
  FETCH_TIMEOUT: 'the server did not answer in time',
  FETCH_TRUNCATED: 'the server closed the connection before the end of the body',
  NETWORK_UNREACHABLE: 'the server could not be reached',
  AUTH_REQUIRED: 'the registry asks for credentials and none were found',
  AUTH_DENIED: 'the registry or its token server refused the credentials, or they do not allow this action',
  AUTH_CONFIG_INVALID: 'a credentials file (Docker config, containers auth.json) is malformed',
  AUTH_HELPER_FAILED: 'a docker-credential helper could not be run or failed',
  REGISTRY_ERROR: 'the registry answered with an error',
  MANIFEST_UNKNOWN: 'the registry has no manifest for that tag or digest',
  BLOB_DIGEST_MISMATCH: 'content received from a registry does not match its digest',
  IMAGE_INVALID: 'an image (layout, archive, manifest or layer) is malformed, incomplete or unsafe to unpack',
  PACKAGE_UNKNOWN: 'no such package in the configured archive',
  UNSATISFIABLE: 'the requested packages cannot be installed together',
  CONFLICT: 'two packages of the closure conflict',
  CACHE_ERROR: 'the cache directory is unusable',
  IO_ERROR: 'a file could not be read or written',
  IMAGE_NOT_FOUND: 'the image reference names no image',
  REBUILD_FAILED: 'a rebuild in a child process failed',
  NOT_REPRODUCIBLE: 'two builds of the same inputs differ',
  SANDBOX_UNAVAILABLE: 'this host cannot start an unprivileged sandbox (bubblewrap or user namespaces missing)',
  COMMAND_NOT_FOUND: 'the command is not in the environment',
  CONFIG_INVALID: 'the server configuration does not follow docs/serve.md',
  STORE_ERROR: 'the blob store cannot be read or written',
  NAME_INVALID: 'an image name does not follow the registry name grammar (docs/serve.md)',
  IMAGE_UNKNOWN: 'this server makes no image of that name (architecture or named spec not configured)',
  BLOB_UNKNOWN: 'no blob with that digest',
  DIGEST_INVALID: 'a digest is malformed or uses an unsupported algorithm',
  RANGE_INVALID: 'a Range request cannot be satisfied',
  UNSUPPORTED: 'the registry does not support that operation',
  ROUTE_UNKNOWN: 'no such endpoint',
  LIMIT_EXCEEDED: 'a request is over one of the server\'s limits',
  BUILD_TIMEOUT: 'an on-demand build did not finish in time',
  BUSY: 'the server is building as many images as it allows',
  REQUEST_TOO_LARGE: 'a request is larger than the server accepts',
  INTERNAL: 'a bug in strata',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorOptions {
  cause?: unknown;
  /** Structured, JSON-serialisable facts that a caller (or `--json`) may show. */
  detail?: Record<string, unknown>;
  /** What the user should do next; shown after the message. */
  hint?: string;
}

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly detail: Record<string, unknown> | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.detail = options.detail;
    this.hint = options.hint;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.hint !== undefined) out.hint = this.hint;
    if (this.detail !== undefined) out.detail = this.detail;
    return out;
  }
}

export function isStrataError(value: unknown, code?: ErrorCode): value is StrataError {
  return value instanceof StrataError && (code === undefined || value.code === code);
}

/** Wraps an unknown thrown value; StrataErrors pass through unchanged. */
export function asStrataError(value: unknown, code: ErrorCode, message: string): StrataError {
  if (value instanceof StrataError) return value;
  const reason = value instanceof Error ? value.message : String(value);
  return new StrataError(code, `${message}: ${reason}`, { cause: value });
}
