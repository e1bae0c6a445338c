// Owns the `ar` container of .deb files (deb(5)): a global header, then members each with a
// 60-byte header, padded to even offsets. Reading streams members; writing is for fixtures.
import { StrataError } from '../errors.js';
import { ByteReader } from './byte-reader.js';

const MAGIC = '!<arch>\n';

export interface ArMember {
  name: string;
  size: number;
  body: AsyncIterable<Buffer>;
}

/** Reads one 60-byte member header: the member's name and size. */
export function parseArMemberHeader(header: Buffer, what: string): { name: string; size: number } {
  if (header.length < 60) throw new StrataError('DEB_INVALID', `${what}: truncated ar member header`);
  if (header[58] !== 0x60 || header[59] !== 0x0a) throw new StrataError('DEB_INVALID', `${what}: bad ar member header`);
  const name = header.toString('latin1', 0, 16).trim().replace(/\/$/, '');
  const sizeText = header.toString('latin1', 48, 58).trim();
  if (!/^[0-9]+$/.test(sizeText)) throw new StrataError('DEB_INVALID', `${what}: bad ar member size ${JSON.stringify(sizeText)}`);
  return { name, size: Number(sizeText) };
}

export async function* readAr(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<ArMember> {
  const reader = new ByteReader(source);
  try {
    const magic = await reader.read(8);
    if (magic.toString('latin1') !== MAGIC) throw new StrataError('DEB_INVALID', `${what}: not an ar archive (bad magic)`);
    for (;;) {
      if (await reader.atEnd()) return;
      const { name, size } = parseArMemberHeader(await reader.read(60), what);
      let consumed = 0;
      const body = (async function* () {
        for await (const chunk of reader.stream(size)) {
          consumed += chunk.length;
          yield chunk;
        }
      })();
      yield { name, size, body };
      if (consumed < size) consumed += await reader.skip(size - consumed);
      if (consumed < size) throw new StrataError('DEB_INVALID', `${what}: truncated inside ar member ${name}`);
      if (size % 2 === 1) await reader.skip(1);
    }
  } finally {
    await reader.close();
  }
}

/** Builds an ar archive in memory with zero timestamps and root ownership. */
export function writeAr(members: Array<{ name: string; data: Uint8Array }>): Buffer {
  const parts: Buffer[] = [Buffer.from(MAGIC, 'latin1')];
  for (const m of members) {
    if (m.name.length > 16) throw new TypeError(`ar: member name ${m.name} is longer than 16 bytes`);
    const header = `${m.name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(m.data.byteLength).padEnd(10)}\`\n`;
    parts.push(Buffer.from(header, 'latin1'), Buffer.from(m.data));
    if (m.data.byteLength % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
