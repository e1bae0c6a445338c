// Owns random access to the members of a tar file on disk (an oci-archive or a
// docker-archive): one pass over the headers records where each member's data starts, then
// members are read or streamed by name without unpacking the archive. Names are normalised
// the way the image formats mean them (no leading "./"), pax and GNU long names honoured.
import { open, type FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { BLOCK, checksumOk, decodeHeader, entryTypeOf, isZeroBlock, padding, parsePaxRecords } from '../archive/tar-header.js';

export interface ArchiveMember {
  offset: number;
  size: number;
  type: ReturnType<typeof entryTypeOf>;
  linkname: string;
}

export class ArchiveFile {
  readonly path: string;
  readonly members: Map<string, ArchiveMember>;
  private readonly file: FileHandle;

  private constructor(path: string, file: FileHandle, members: Map<string, ArchiveMember>) {
    this.path = path;
    this.file = file;
    this.members = members;
  }

  static async open(path: string): Promise<ArchiveFile> {
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (e) {
      throw new StrataError('IMAGE_NOT_FOUND', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      return new ArchiveFile(path, file, await indexMembers(path, file));
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  has(name: string): boolean {
    return this.members.has(normalise(name));
  }

  private member(name: string): ArchiveMember {
    let m = this.members.get(normalise(name));
    // Follow hard links (docker save links identical layers) and symlinks inside the archive.
    for (let hops = 0; m !== undefined && (m.type === 'hardlink' || m.type === 'symlink') && hops < 8; hops++) m = this.members.get(normalise(m.linkname));
    if (m === undefined || m.type !== 'file') throw new StrataError('IMAGE_INVALID', `${this.path}: the archive has no member ${name}`, { hint: 'the archive is incomplete or not an image archive' });
    return m;
  }

  async read(name: string): Promise<Buffer> {
    const m = this.member(name);
    const buf = Buffer.alloc(m.size);
    const { bytesRead } = await this.file.read(buf, 0, m.size, m.offset);
    if (bytesRead < m.size) throw new StrataError('IMAGE_INVALID', `${this.path}: ${name} is truncated`);
    return buf;
  }

  /** The first n bytes of a member (or fewer, when it is shorter). */
  async head(name: string, n: number): Promise<Buffer> {
    const m = this.member(name);
    const buf = Buffer.alloc(Math.min(n, m.size));
    await this.file.read(buf, 0, buf.length, m.offset);
    return buf;
  }

  async *stream(name: string): AsyncGenerator<Buffer> {
    const m = this.member(name);
    const chunk = 1 << 20;
    for (let pos = 0; pos < m.size; pos += chunk) {
      const n = Math.min(chunk, m.size - pos);
      const buf = Buffer.allocUnsafe(n);
      const { bytesRead } = await this.file.read(buf, 0, n, m.offset + pos);
      if (bytesRead < n) throw new StrataError('IMAGE_INVALID', `${this.path}: ${name} is truncated`);
      yield buf;
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

function normalise(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

async function indexMembers(path: string, file: FileHandle): Promise<Map<string, ArchiveMember>> {
  const members = new Map<string, ArchiveMember>();
  const { size: fileSize } = await file.stat();
  const block = Buffer.alloc(BLOCK);
  let pos = 0;
  let longName: string | undefined;
  let pax: Map<string, Buffer> | undefined;
  const readBody = async (size: number): Promise<Buffer> => {
    const body = Buffer.alloc(size);
    await file.read(body, 0, size, pos);
    pos += size + padding(size);
    return body;
  };
  while (pos + BLOCK <= fileSize) {
    await file.read(block, 0, BLOCK, pos);
    if (isZeroBlock(block)) break;
    if (!checksumOk(block)) throw new StrataError('IMAGE_INVALID', `${path}: not a tar archive (bad header checksum at byte ${pos})`, { hint: 'give an OCI layout directory, an oci-archive or a docker-archive' });
    const raw = decodeHeader(block);
    pos += BLOCK;
    if (raw.typeflag === 'L') {
      longName = (await readBody(raw.size)).toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (raw.typeflag === 'x') {
      pax = parsePaxRecords(await readBody(raw.size));
      continue;
    }
    if (raw.typeflag === 'g' || raw.typeflag === 'K') {
      await readBody(raw.size);
      continue;
    }
    let name = raw.prefix !== '' ? `${raw.prefix}/${raw.name}` : raw.name;
    if (longName !== undefined) name = longName;
    if (pax?.has('path')) name = pax.get('path')!.toString('utf8');
    const size = pax?.has('size') ? Number(pax.get('size')!.toString('ascii')) : raw.size;
    const type = entryTypeOf(raw.typeflag);
    const linkname = pax?.has('linkpath') ? pax.get('linkpath')!.toString('utf8') : raw.linkname;
    members.set(normalise(name), { offset: pos, size: type === 'file' ? size : 0, type, linkname });
    if (type === 'file' || type === 'other') pos += size + padding(size);
    longName = undefined;
    pax = undefined;
  }
  return members;
}
