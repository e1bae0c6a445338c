// Owns image references as the container ecosystem writes them
// (`[REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST]`, distribution's reference grammar):
// parsing, Docker Hub's defaults (`redis` → docker.io/library/redis:latest, served by
// registry-1.docker.io), and formatting. Pure: no I/O.
import { StrataError } from '../../errors.js';

export interface ImageReference {
  /** The registry as users write it and as credentials are keyed: `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** The host the API is served from (`registry-1.docker.io` for docker.io). */
  apiHost: string;
  /** The repository path: `library/redis`, `team/app`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

function usage(ref: string, why: string): never {
  throw new StrataError('USAGE', `${JSON.stringify(ref)} is not an image reference: ${why}`, {
    hint: 'write REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], e.g. 127.0.0.1:5000/team/app:1.0 or ghcr.io/org/app:latest',
  });
}

/** Parses a reference; `defaultTag` (null: none) is used when neither a tag nor a digest is given. */
export function parseReference(ref: string, defaultTag: string | null = 'latest'): ImageReference {
  if (ref === '' || /\s/.test(ref)) usage(ref, 'it is empty or holds white space');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) usage(ref, `${JSON.stringify(digest)} is not a digest`);
    if (digest.startsWith('sha256:') && !/^sha256:[0-9a-f]{64}$/.test(digest)) usage(ref, 'a sha256 digest has 64 lower-case hex digits');
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) usage(ref, `${JSON.stringify(tag)} is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    registry = first;
    parts.shift();
    if (!/^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9a-fA-F:]+\](:[0-9]+)?$/.test(registry)) usage(ref, `${JSON.stringify(registry)} is not a registry host`);
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    usage(ref, 'repository path components are lower-case letters and digits, separated by ".", "_", "__" or "-"');
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) usage(ref, 'the repository name is longer than 255 characters');
  const out: ImageReference = { registry, apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API : registry, repository };
  if (tag !== undefined) out.tag = tag;
  else if (digest === undefined && defaultTag !== null) out.tag = defaultTag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** The reference as users write it (the registry is always spelled out). */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The tag or digest a manifest request names. */
export function manifestReference(ref: ImageReference): string {
  const r = ref.digest ?? ref.tag;
  if (r === undefined) throw new StrataError('USAGE', `${formatReference(ref)} names neither a tag nor a digest`);
  return r;
}

/** Whether the host is a loopback address, where plain HTTP (`--insecure`) is allowed. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host) || host === '::1';
}
