// Owns reading images back from disk for pushing: an OCI image layout directory (the
// manifest a tag names in index.json, and the artifacts in index.json whose `subject` is that
// manifest or one of its platforms' manifests), and an oci-archive (that layout as a tar,
// unpacked into a scratch directory first). Blobs stay files; nothing is loaded whole.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { StrataError } from '../errors.js';
import { readTar } from '../archive/tar-reader.js';
import { ANNOTATION, MEDIA, type Descriptor, type ImageIndex } from './oci.js';
import type { BlobSource } from './layout.js';

export interface LayoutImage {
  root: Descriptor;
  blobs: Map<string, BlobSource>;
  referrers: Descriptor[];
  tag: string | undefined;
}

function invalid(where: string, why: string): never {
  throw new StrataError('IMAGE_INVALID', `${where}: ${why}`, { hint: 'is it an OCI image layout (oci-layout, index.json, blobs/sha256/…)? `strata build` writes one' });
}

async function json<T>(path: string, where: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    invalid(where, `cannot read ${path.slice(dirname(dirname(path)).length + 1)}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    invalid(where, `${path} is not JSON`);
  }
}

/** Reads the image a tag names (default: the only one, else `latest`) with its referrers. */
export async function readOciLayout(dir: string, tag?: string): Promise<LayoutImage> {
  await json<{ imageLayoutVersion?: string }>(join(dir, 'oci-layout'), dir);
  const index = await json<ImageIndex>(join(dir, 'index.json'), dir);
  if (!Array.isArray(index.manifests)) invalid(dir, 'index.json has no manifests');
  const named = index.manifests.filter((m) => m.annotations?.[ANNOTATION.refName] !== undefined);
  let root: Descriptor | undefined;
  if (tag !== undefined) root = named.find((m) => m.annotations![ANNOTATION.refName] === tag);
  else if (named.length === 1) root = named[0];
  else root = named.find((m) => m.annotations![ANNOTATION.refName] === 'latest');
  if (root === undefined) {
    const tags = named.map((m) => m.annotations![ANNOTATION.refName]).join(', ') || 'none';
    invalid(dir, tag !== undefined ? `no image is tagged ${tag} (tags: ${tags})` : `several images and none tagged latest (tags: ${tags}); pick one with --source-tag`);
  }
  const blobs = new Map<string, BlobSource>();
  const blob = async (d: Descriptor) => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest);
    if (m === null) invalid(dir, `unsupported digest ${d.digest}`);
    const path = join(dir, 'blobs', 'sha256', m[1]!);
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || s.size !== d.size) invalid(dir, `the blob ${d.digest} is ${s === undefined ? 'missing' : `${s.size} bytes, not ${d.size}`}`);
    blobs.set(d.digest, { kind: 'file', path, size: d.size });
    return path;
  };
  const manifestDigests = new Set<string>();
  const visit = async (d: Descriptor): Promise<void> => {
    const doc = await json<{ manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(await blob(d), dir);
    manifestDigests.add(d.digest);
    if (Array.isArray(doc.manifests)) for (const m of doc.manifests) await visit(m);
    else for (const b of [doc.config, ...(doc.layers ?? [])]) if (b !== undefined) await blob(b);
  };
  const { annotations: _a, ...plainRoot } = root;
  void _a;
  await visit(plainRoot);
  const referrers: Descriptor[] = [];
  for (const m of index.manifests) {
    if (m.mediaType !== MEDIA.manifest || m === root || m.annotations?.[ANNOTATION.refName] !== undefined) continue;
    const doc = await json<{ subject?: Descriptor }>(join(dir, 'blobs', 'sha256', m.digest.slice(7)), dir);
    if (doc.subject !== undefined && manifestDigests.has(doc.subject.digest)) {
      await visit(m);
      referrers.push({ mediaType: m.mediaType, digest: m.digest, size: m.size });
    }
  }
  return { root: plainRoot, blobs, referrers, tag: root.annotations?.[ANNOTATION.refName] };
}

/** Unpacks an oci-archive into SCRATCH (a fresh directory) and reads it as a layout. */
export async function readOciArchive(path: string, scratch: string, tag?: string): Promise<LayoutImage> {
  await mkdir(scratch, { recursive: true });
  let found = false;
  try {
    for await (const item of readTar(createReadStream(path, { highWaterMark: 1 << 20 }), path)) {
      const name = normalize(item.entry.path).replace(/^(\.\/)+/, '').replace(/\/$/, '');
      if (name.startsWith('..') || name.startsWith('/')) invalid(path, `unsafe path ${item.entry.path}`);
      if (item.entry.type === 'directory') {
        await mkdir(join(scratch, name), { recursive: true });
        for await (const _ of item.body) void _;
        continue;
      }
      if (item.entry.type !== 'file') {
        for await (const _ of item.body) void _;
        continue;
      }
      if (name === 'oci-layout') found = true;
      await mkdir(dirname(join(scratch, name)), { recursive: true });
      // Blobs are written as they stream: layers can be large.
      const out = createWriteStream(join(scratch, name));
      for await (const c of item.body) if (!out.write(c)) await new Promise<void>((r) => out.once("drain", () => r()));
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    }
  } catch (e) {
    if (e instanceof StrataError && e.code === 'IMAGE_INVALID') throw e;
    throw new StrataError('IMAGE_INVALID', `${path} is not a readable tar: ${(e as Error).message}`, { cause: e });
  }
  if (!found) invalid(path, 'the archive has no oci-layout file (only oci-archives can be pushed; a docker-archive cannot)');
  return readOciLayout(scratch, tag);
}
