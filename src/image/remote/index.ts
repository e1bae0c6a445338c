// Owns the registry client's public face: connect to the registry of a reference with the
// credentials the ecosystem would use (credentials.ts) over TLS or, on loopback only, plain
// HTTP; then push an image (push.ts) or pull one into an OCI layout (pull.ts). Other parts
// (the CLI, `verify --against REF`, `diff REF`) use these functions and nothing below them.
import { readFile } from 'node:fs/promises';
import { StrataError } from '../../errors.js';
import { RegistryClient } from './client.js';
import { findCredentials, type CredentialOptions } from './credentials.js';
import { pullWithClient, type PulledImage, type PullOptions } from './pull.js';
import { pushWithClient, type PushableImage, type PushOptions, type PushResult } from './push.js';
import { formatReference, isLoopbackHost, parseReference, type ImageReference } from './reference.js';
import { transportDefaults, type TransportOptions } from './transport.js';

export { parseReference, formatReference, type ImageReference } from './reference.js';
export type { PulledImage, PullOptions } from './pull.js';
export type { PushableImage, PushOptions, PushProgress, PushResult } from './push.js';
export { RegistryClient } from './client.js';

export interface RemoteOptions {
  /** Plain HTTP; allowed only for loopback registries (127.0.0.0/8, ::1, localhost). */
  insecure?: boolean;
  /** PEM files of extra CAs to trust (--ca-cert). */
  caCerts?: string[];
  /** --username with the password read from stdin. */
  username?: string;
  password?: string;
  env?: NodeJS.ProcessEnv;
  runHelper?: CredentialOptions['runHelper'];
  transport?: Omit<TransportOptions, 'insecure' | 'ca'>;
}

/** Opens a client for the registry of REF, with its credentials. */
export async function connect(ref: ImageReference, options: RemoteOptions = {}): Promise<RegistryClient> {
  if (options.insecure && !isLoopbackHost(ref.registry)) {
    throw new StrataError('USAGE', `--insecure (plain HTTP) is only allowed for a registry on a loopback address, not ${ref.registry}`, {
      hint: 'use TLS; for a registry with its own CA pass --ca-cert FILE',
    });
  }
  if ((options.username === undefined) !== (options.password === undefined)) {
    throw new StrataError('USAGE', '--username needs --password-stdin (and the other way round)');
  }
  const credOptions: CredentialOptions = {};
  if (options.username !== undefined) credOptions.explicit = { username: options.username, password: options.password! };
  if (options.env !== undefined) credOptions.env = options.env;
  if (options.runHelper !== undefined) credOptions.runHelper = options.runHelper;
  const credentials = await findCredentials(ref, credOptions);
  const ca: Buffer[] = [];
  for (const f of options.caCerts ?? []) {
    try {
      ca.push(await readFile(f));
    } catch (e) {
      throw new StrataError('IO_ERROR', `cannot read the CA certificate ${f}: ${(e as Error).message}`);
    }
  }
  const transport: TransportOptions = { ...transportDefaults(options.env), ...(options.transport ?? {}) };
  if (options.insecure) transport.insecure = true;
  // Node replaces its default CAs when `ca` is given; keep the system's too.
  if (ca.length > 0) transport.ca = [...(await import('node:tls')).rootCertificates, ...ca];
  return new RegistryClient(ref.apiHost, { ...transport, ...(credentials !== undefined ? { credentials } : {}) });
}

/** Pulls REF into the OCI layout directory options.dir. */
export async function pullImage(ref: string | ImageReference, options: PullOptions & RemoteOptions): Promise<PulledImage> {
  const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
  return pullWithClient(await connect(parsed, options), parsed, options);
}

/** Pushes an image to REF (its tag, if any, is set last) and to every extra tag. */
export async function pushImage(ref: string | ImageReference, image: PushableImage, options: Omit<PushOptions, 'repository' | 'tags'> & RemoteOptions & { tags?: string[] }): Promise<PushResult & { reference: string }> {
  const parsed = typeof ref === 'string' ? parseReference(ref, null) : ref;
  if (parsed.digest !== undefined && parsed.digest !== image.root.digest) {
    throw new StrataError('USAGE', `${formatReference(parsed)} names the digest ${parsed.digest}, but the image is ${image.root.digest}`);
  }
  const tags = [...new Set([...(parsed.tag !== undefined ? [parsed.tag] : []), ...(options.tags ?? [])])];
  // Like docker push: a reference with neither tag nor digest means :latest.
  if (tags.length === 0 && parsed.digest === undefined) tags.push('latest');
  const client = await connect(parsed, options);
  const result = await pushWithClient(client, image, { ...options, repository: parsed.repository, tags });
  return { ...result, reference: `${parsed.registry}/${parsed.repository}@${image.root.digest}` };
}
