// Owns reading the sizes an .xz file records about itself (the xz file format, 1.0.4): each
// stream ends with an index of its blocks' sizes and a footer that locates the index, so the
// decompressed size is known without decompressing. Pure: bytes in, a number out.

const HEADER_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/**
 * The decompressed size of an .xz input made of whole streams (with optional stream padding),
 * from the streams' indexes; undefined when the bytes do not parse as such. The decoder checks
 * the index against the data, so a size read here is right whenever decoding succeeds.
 */
export function xzDecompressedSize(b: Uint8Array): number | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let end = b.byteLength;
  let total = 0;
  let streams = 0;
  while (end > 0) {
    while (end >= 4 && view.getUint32(end - 4, true) === 0) end -= 4; // stream padding
    if (end === 0 && streams > 0) break;
    if (end < 24 || end % 4 !== 0) return undefined;
    const footer = end - 12;
    if (b[footer + 10] !== 0x59 || b[footer + 11] !== 0x5a) return undefined; // "YZ"
    const indexSize = (view.getUint32(footer + 4, true) + 1) * 4;
    const indexStart = footer - indexSize;
    if (indexStart < 12 || b[indexStart] !== 0x00) return undefined;
    let pos = indexStart + 1;
    const mbi = (): number | undefined => {
      let value = 0;
      for (let i = 0, scale = 1; i < 9; i++, scale *= 128) {
        if (pos >= footer) return undefined;
        const byte = b[pos++]!;
        value += (byte & 0x7f) * scale;
        if ((byte & 0x80) === 0) return value;
      }
      return undefined;
    };
    const records = mbi();
    if (records === undefined) return undefined;
    let blocks = 0;
    for (let i = 0; i < records; i++) {
      const unpadded = mbi();
      const uncompressed = mbi();
      if (unpadded === undefined || uncompressed === undefined) return undefined;
      blocks += Math.ceil(unpadded / 4) * 4;
      total += uncompressed;
    }
    const start = indexStart - blocks - 12;
    if (start < 0 || HEADER_MAGIC.some((m, i) => b[start + i] !== m)) return undefined;
    end = start;
    streams++;
  }
  return streams > 0 ? total : undefined;
}
