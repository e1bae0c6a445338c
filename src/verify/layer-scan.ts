// Owns reading one stored layer completely: its gzip header, the DiffID of the tar inside,
// and one record per tar entry in stream order (every header field, the pax records, the raw
// header bytes and the sha256 of the content). A layer
// that does not decompress or parse is a scan with an error, not an exception: a tampered
// image is something to report.
import { createHash } from 'node:crypto';
import { decompress } from '../archive/decompress.js';
import { parseGzipHeader, type GzipHeader } from '../archive/gzip-header.js';
import { readTar } from '../archive/tar-reader.js';
import type { EntryType } from '../archive/tar-header.js';
import type { ImageLayer } from '../image/image-reader.js';

export interface EntryRecord {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  size: number;
  linkname: string;
  /** xattr name → value as hex. */
  xattrs: Record<string, string>;
  /** pax records that the fields above do not already carry, value as text. */
  pax: Record<string, string>;
  /** The entry's header bytes as stored (extension headers, then the ustar block). */
  header: Buffer;
  /** sha256 of the content (files); empty otherwise. */
  content: string;
  /** The content itself, for the entries the scan was asked to keep (small metadata files). */
  data?: Buffer;
}

export interface LayerScan {
  /** sha256:… of the stored bytes; undefined when they could not be read to the end. */
  storedDigest?: string;
  storedSize: number;
  gzip?: GzipHeader;
  /** sha256:… of the tar (the DiffID the bytes really have); undefined when decompression failed. */
  diffId?: string;
  tarSize: number;
  entries: EntryRecord[];
  /** Why the layer could not be read to the end. */
  error?: string;
}

/** pax keys whose meaning is already in EntryRecord's fields. */
const FOLDED = new Set(['path', 'linkpath', 'size']);

function showPax(v: Buffer): string {
  const text = v.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? text : `0x${v.toString('hex')}`;
}

export async function scanLayer(layer: ImageLayer, what: string, keep?: (path: string) => boolean): Promise<LayerScan> {
  const tar = createHash('sha256');
  const stored = createHash('sha256');
  let storedSize = 0;
  let storedDone = false;
  let tarSize = 0;
  let head = Buffer.alloc(0);
  const source = (async function* () {
    for await (const chunk of layer.open()) {
      stored.update(chunk);
      storedSize += chunk.length;
      if (head.length < 1024) head = Buffer.concat([head, chunk.subarray(0, 1024 - head.length)]);
      yield chunk;
    }
    storedDone = true;
  })();
  const plain = (async function* () {
    for await (const chunk of decompress(source, layer.compression, what)) {
      tar.update(chunk);
      tarSize += chunk.length;
      yield chunk;
    }
  })()[Symbol.asyncIterator]();
  // The tar reader stops at the end-of-archive marker and closes its input; this view keeps
  // the stream open so that what follows the marker still counts towards the DiffID.
  const view: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => ({ next: () => plain.next(), return: async () => ({ done: true as const, value: undefined }) }) };
  const entries: EntryRecord[] = [];
  let error: string | undefined;
  try {
    for await (const item of readTar(view, what)) {
      const e = item.entry;
      const hash = createHash('sha256');
      const path = e.path.replace(/^\.\//, '').replace(/\/$/, '');
      const kept: Buffer[] | undefined = keep?.(path) === true ? [] : undefined;
      for await (const chunk of item.body) {
        hash.update(chunk);
        kept?.push(Buffer.from(chunk));
      }
      const pax: Record<string, string> = {};
      for (const [k, v] of [...item.pax].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
        if (!FOLDED.has(k) && !k.startsWith('SCHILY.xattr.')) pax[k] = showPax(v);
      }
      const xattrs: Record<string, string> = {};
      for (const k of Object.keys(e.xattrs ?? {}).sort()) xattrs[k] = Buffer.from(e.xattrs![k]!).toString('hex');
      entries.push({
        path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        uname: e.uname ?? '',
        gname: e.gname ?? '',
        mtime: e.mtime,
        size: e.size,
        linkname: e.linkname ?? '',
        xattrs,
        pax,
        header: item.header,
        content: e.type === 'file' ? hash.digest('hex') : '',
        ...(kept !== undefined ? { data: Buffer.concat(kept) } : {}),
      });
    }
    while (!(await plain.next()).done);
  } catch (e) {
    error = (e as Error).message;
    await plain.return?.(undefined).catch(() => undefined);
  }
  const scan: LayerScan = { storedSize, tarSize, entries };
  if (storedDone) scan.storedDigest = `sha256:${stored.digest('hex')}`;
  const gz = layer.compression === 'gzip' ? parseGzipHeader(head) : undefined;
  if (gz !== undefined) scan.gzip = gz;
  if (error === undefined) scan.diffId = `sha256:${tar.digest('hex')}`;
  else scan.error = error;
  return scan;
}

/** Only the digest of the stored bytes (the cheap pass that every layer gets). */
export async function hashStored(layer: ImageLayer): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of layer.open()) {
    h.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}
