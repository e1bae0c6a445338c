// Owns turning an image reference that a user typed into an OpenedImage: the one seam every
// command that reads images goes through (verify --against, diff). References follow
// skopeo's transports:
//   oci:DIR[:TAG]   oci-archive:FILE[:TAG]   docker-archive:FILE[:REPO:TAG]   docker://REF
// and a bare PATH[:TAG] is a local layout or archive, sniffed. Registry references
// (docker://…, or host/name:tag that names no local file) go through openRegistryImage: the
// registry client (remote/) pulls the image, checked blob by blob, and it is read as a layout.
import { StrataError } from '../errors.js';
import type { OpenedImage } from './image-reader.js';
import { localPathExists, openLocalImage, type LocalFormat, type LocalImageRef } from './layout-reader.js';
import type { RemoteOptions } from './remote/index.js';

export type ImageRef = ({ kind: 'local' } & LocalImageRef) | { kind: 'registry'; reference: string };

const TRANSPORTS: Record<string, LocalFormat> = { oci: 'oci', 'oci-archive': 'oci-archive', 'docker-archive': 'docker-archive' };

/** Whether a reference names its transport: docker://…, oci:…, oci-archive:…, docker-archive:…. */
export function namesTransport(text: string): boolean {
  if (text.startsWith('docker://')) return true;
  const colon = text.indexOf(':');
  return colon > 0 && TRANSPORTS[text.slice(0, colon)] !== undefined;
}

/** Looks like host[:port]/path[:tag|@digest]: what a registry reference is when no file has the name. */
export function looksLikeRegistryReference(s: string): boolean {
  return /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/.test(s) && (s.includes('/') || s.includes(':') || s.includes('@'));
}

/** Parses a reference; a bare PATH:TAG is split only when PATH exists and PATH:TAG does not. */
export async function parseImageRef(text: string): Promise<ImageRef> {
  if (text.startsWith('docker://')) return { kind: 'registry', reference: text.slice('docker://'.length) };
  const colon = text.indexOf(':');
  const transport = colon > 0 ? TRANSPORTS[text.slice(0, colon)] : undefined;
  if (transport !== undefined) {
    const rest = text.slice(colon + 1);
    // The path is what exists: FILE:REPO:TAG or DIR:TAG; prefer the longest existing prefix.
    if (await localPathExists(rest)) return { kind: 'local', path: rest, format: transport };
    for (let i = rest.indexOf(':'); i > 0; i = rest.indexOf(':', i + 1)) {
      if (await localPathExists(rest.slice(0, i))) return { kind: 'local', path: rest.slice(0, i), tag: rest.slice(i + 1), format: transport };
    }
    return { kind: 'local', path: rest, format: transport };
  }
  if (await localPathExists(text)) return { kind: 'local', path: text };
  const last = text.lastIndexOf(':');
  if (last > 0 && (await localPathExists(text.slice(0, last)))) return { kind: 'local', path: text.slice(0, last), tag: text.slice(last + 1) };
  if (looksLikeRegistryReference(text) && !text.startsWith('.') && !text.startsWith('/')) return { kind: 'registry', reference: text };
  return { kind: 'local', path: text };
}

/** The registry seam: opens an image in a registry through the registry client (remote/). */
export async function openRegistryImage(reference: string, options: RemoteOptions = {}): Promise<OpenedImage> {
  const { openRemoteImage } = await import('./remote/open.js');
  return openRemoteImage(reference, options);
}

export interface OpenImageOptions {
  /** How to reach registries: --insecure (loopback only), --ca-cert, credentials. */
  registry?: RemoteOptions;
}

/** Opens what a reference names: a layout, an archive or a registry image. */
export async function openImage(text: string, options: OpenImageOptions = {}): Promise<OpenedImage> {
  const ref = await parseImageRef(text);
  if (ref.kind === 'registry') return openRegistryImage(ref.reference, options.registry);
  const { kind: _kind, ...local } = ref;
  const image = await openLocalImage(local);
  if (image === undefined) {
    throw new StrataError('IMAGE_NOT_FOUND', `${ref.path}: no such file or directory`, {
      hint: 'give an OCI layout directory, an oci-archive or a docker-archive (optionally PATH:TAG), or oci:DIR:TAG',
    });
  }
  return image;
}
