// Owns reading tar streams (ustar, pax, and GNU long names as dpkg-deb writes them) without
// touching the file system: entries come out as values with their content as a stream.
// Paths are returned exactly as stored (normalising them is the caller's policy).
import { StrataError } from '../errors.js';
import { ByteReader } from './byte-reader.js';
import { BLOCK, checksumOk, decodeHeader, entryTypeOf, isZeroBlock, padding, parsePaxRecords, type TarEntry } from './tar-header.js';

export interface TarItem {
  entry: TarEntry;
  /** The content; must be consumed (or is skipped) before the next item is read. */
  body: AsyncIterable<Buffer>;
  /**
   * The entry's header bytes as stored: its extension headers (pax `x`/`g`, GNU `L`/`K`) with
   * their records, then the ustar block. Byte-level comparisons (strata verify) read these.
   */
  header: Buffer;
  /** The pax records that apply to the entry (global ones, then its own), values as stored. */
  pax: Map<string, Buffer>;
  /** Offset of the content's first byte in the tar stream. */
  offset: number;
}

async function readAll(reader: ByteReader, size: number, what: string, headerParts: Buffer[]): Promise<Buffer> {
  const data = await reader.read(size);
  if (data.length < size) throw new StrataError('DEB_INVALID', `${what}: tar ends inside an extended header`);
  await reader.skip(padding(size));
  headerParts.push(Buffer.from(data));
  return data;
}

/** Reads entries of a tar stream. `what` names the archive in errors. */
export async function* readTar(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<TarItem> {
  const reader = new ByteReader(source);
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, Buffer> | undefined;
  let globalPax = new Map<string, Buffer>();
  let headerParts: Buffer[] = [];
  try {
    for (;;) {
      const block = await reader.read(BLOCK);
      if (block.length === 0) return; // tolerate a missing end-of-archive marker
      if (block.length < BLOCK) throw new StrataError('DEB_INVALID', `${what}: tar is truncated (partial header at byte ${reader.position - block.length})`);
      if (isZeroBlock(block)) return;
      if (!checksumOk(block)) throw new StrataError('DEB_INVALID', `${what}: tar header checksum mismatch at byte ${reader.position - BLOCK}`);
      headerParts.push(Buffer.from(block));
      let raw;
      try {
        raw = decodeHeader(block);
      } catch (e) {
        throw new StrataError('DEB_INVALID', `${what}: bad tar header at byte ${reader.position - BLOCK}: ${(e as Error).message}`);
      }
      switch (raw.typeflag) {
        case 'L':
          longName = (await readAll(reader, raw.size, what, headerParts)).toString('utf8').replace(/\0+$/, '');
          continue;
        case 'K':
          longLink = (await readAll(reader, raw.size, what, headerParts)).toString('utf8').replace(/\0+$/, '');
          continue;
        case 'x':
          pax = parsePaxRecords(await readAll(reader, raw.size, what, headerParts));
          continue;
        case 'g':
          globalPax = new Map([...globalPax, ...parsePaxRecords(await readAll(reader, raw.size, what, headerParts))]);
          continue;
        default:
          break;
      }
      const records = new Map([...globalPax, ...(pax ?? [])]);
      let path = raw.prefix !== '' ? `${raw.prefix}/${raw.name}` : raw.name;
      if (longName !== undefined) path = longName;
      if (records.has('path')) path = records.get('path')!.toString('utf8');
      let linkname = raw.linkname;
      if (longLink !== undefined) linkname = longLink;
      if (records.has('linkpath')) linkname = records.get('linkpath')!.toString('utf8');
      let size = raw.size;
      if (records.has('size')) size = Number(records.get('size')!.toString('ascii'));
      let mtime = raw.mtime;
      if (records.has('mtime')) mtime = Math.floor(Number(records.get('mtime')!.toString('ascii')));
      let uid = raw.uid;
      let gid = raw.gid;
      if (records.has('uid')) uid = Number(records.get('uid')!.toString('ascii'));
      if (records.has('gid')) gid = Number(records.get('gid')!.toString('ascii'));
      const type = entryTypeOf(raw.typeflag);
      const entry: TarEntry = { path, type, mode: raw.mode & 0o7777, uid, gid, size: type === 'file' ? size : 0, mtime };
      if (type === 'symlink' || type === 'hardlink') entry.linkname = linkname;
      if (raw.uname !== '' || records.has('uname')) entry.uname = records.get('uname')?.toString('utf8') ?? raw.uname;
      if (raw.gname !== '' || records.has('gname')) entry.gname = records.get('gname')?.toString('utf8') ?? raw.gname;
      for (const [key, value] of records) {
        if (key.startsWith('SCHILY.xattr.')) (entry.xattrs ??= {})[key.slice('SCHILY.xattr.'.length)] = value;
      }
      longName = undefined;
      longLink = undefined;
      pax = undefined;
      const header = Buffer.concat(headerParts);
      headerParts = [];
      // Only regular files (and unknown types, which are skipped) carry data; links,
      // directories and device nodes have none whatever their size field says.
      const dataSize = type === 'file' || type === 'other' ? size : 0;
      let consumed = 0;
      const body = (async function* () {
        for await (const chunk of reader.stream(entry.size)) {
          consumed += chunk.length;
          yield chunk;
        }
      })();
      yield { entry, body, header, pax: records, offset: reader.position };
      if (consumed < entry.size) consumed += await reader.skip(entry.size - consumed);
      if (consumed < entry.size) throw new StrataError('DEB_INVALID', `${what}: tar is truncated inside ${path}`);
      const extra = dataSize - entry.size;
      await reader.skip(Math.max(0, extra) + padding(dataSize));
    }
  } finally {
    await reader.close();
  }
}
