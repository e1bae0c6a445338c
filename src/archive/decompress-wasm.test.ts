// The pure WASM xz decoder, the fallback for hosts without an xz binary. STRATA_XZ is read
// once per process, so this file (its own process under node --test) forces it up front.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { decompress, decompressFile, hostXz } from './decompress.js';

process.env.STRATA_XZ = 'wasm';

// 300 stanzas "Package: pN\nVersion: 1.N\n\n" (8,780 bytes), compressed with `xz -9`.
const SAMPLE_XZ = Buffer.from(
  '/Td6WFoAAATm1rRGAgAhARwAAAAQz1jM4CJLAe9dACgYSGbb2jCF/hbspnVsZpRhdWL0jib8EM3H1KYyJirhPq0RK8wjybBzycAhR0iP8NL5WQSVcr0hvr2Lu3N9l1PJthP5KA+7WZGklr63DPGukH7NGaay7GLVh8q8s9B/v/udNlkf1CFQTsoTyjIF8CPEA1NA015QoRGo0+cVBuGH0KDuVkdW1rPu+6UBFC3mDrMRgj1eXJsZbafmGvRK+8kNhT6Uf8f6GtNEnN/AaeF+D9P/76ay4TMaOXggl2HMMPsnP/Y1sgrgbS7kA5cZhGz+ktQoeLajkOVHIjmf5UUU6p/dVEMI7rHVVAVKdAAVjNKrZgJu8jAwjPRf9GV3mVTHncSdiH+xAJlVpIL7xzqG7iNDIQeiC+ega2aeEyDXtbuz8+M/lgC3OvQID1GQQ991hteG7GqzvnJsvFe9zVF/a1VwgCg0UUgDjvafHuONe74wvRKlYPv6G95bKLaGq7XMsLydiW9ITnyrLDc3wGgVgwOJr1AJJGP1zbAF5iBy5ggY/FMeujwXqO5fKT5KLj9opPtinUK6j6sQSfe9GpYgTbPE0wQCFDLLUjB6dhcYgNZ2dfSbAkCdmEMtEXwJardG00HdYW+cRfeUD/kWpyboby+HtBooNU4XsaUR/jzfEKSkSmxEHNzkYVyH2MFmUAAAClgs86pm2rMAAYsEzEQAAKTiqgmxxGf7AgAAAAAEWVo=',
  'base64',
);
const SAMPLE_SHA256 = '3a312e82bdaf05da933c071a66a2107da242f2f93a69d3136768107485fa1062';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

test('STRATA_XZ=wasm selects the WASM decoder', () => {
  assert.equal(hostXz(), null);
});

test('the WASM decoder decompresses a stream and a file', async () => {
  const fromStream = await collect(decompress((async function* () { yield SAMPLE_XZ.subarray(0, 100); yield SAMPLE_XZ.subarray(100); })(), 'xz', 'sample'));
  assert.equal(createHash('sha256').update(fromStream).digest('hex'), SAMPLE_SHA256);
  const dir = await mkdtemp(join(tmpdir(), 'strata-xz-'));
  try {
    const path = join(dir, 'Packages.xz');
    await writeFile(path, SAMPLE_XZ);
    const fromFile = await collect(decompressFile(path, 'xz', 'sample', join(dir, 'scratch')));
    assert.deepEqual(fromFile, fromStream);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the WASM decoder reports corrupt data as DEB_INVALID', async () => {
  const bad = Buffer.from(SAMPLE_XZ);
  const at = bad.length >> 1;
  bad[at] = bad[at]! ^ 0xff;
  await assert.rejects(collect(decompress((async function* () { yield bad; })(), 'xz', 'bad sample')), (e: Error & { code?: string }) => e.code === 'DEB_INVALID');
});
