import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decompress, hostXz } from './decompress.js';

// `printf 'strata xz fixture\n' x3 | xz -c -6`
const XZ = Buffer.from('/Td6WFoAAATm1rRGAgAhARYAAAB0L+Wj4AA1ABldADmdCow8YX4u4CRaQbwNylQuKOIaPgkngAAAAAAACQZfpv8s3pMAATU2BOINTR+2830BAAAAAARZWg==', 'base64');

async function all(chunks: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

test('the WASM xz decoder (hosts without xz, STRATA_XZ=wasm) decodes, lets a consumer stop early, and refuses truncated input as DEB_INVALID', async () => {
  // Each test file runs in its own process, and hostXz() reads the variable on first use.
  process.env.STRATA_XZ = 'wasm';
  assert.equal(hostXz(), null);
  assert.equal(await all(decompress(once(XZ), 'xz', 'fixture.xz')), 'strata xz fixture\n'.repeat(3));
  // A consumer that stops early (a tar ends before its compressed member does) must not fail.
  for await (const chunk of decompress(once(XZ), 'xz', 'fixture.xz')) {
    assert.ok(chunk.length > 0);
    break;
  }
  await assert.rejects(all(decompress(once(XZ.subarray(0, 40)), 'xz', 'fixture.xz')), (e: Error & { code?: string }) => e.code === 'DEB_INVALID' && /fixture\.xz: corrupt compressed data/.test(e.message));
});
