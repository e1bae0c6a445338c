import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHeader, type TarEntry } from '../archive/tar-header.js';
import { compareLayerScans, layerDifferences } from './compare-layer.js';
import type { EntryRecord, LayerScan } from './layer-scan.js';

function rec(e: Partial<TarEntry> & { path: string }, content = ''): EntryRecord {
  const entry: TarEntry = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1000, ...e };
  return { path: entry.path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, uname: entry.uname ?? '', gname: entry.gname ?? '', mtime: entry.mtime, size: entry.size, linkname: entry.linkname ?? '', xattrs: {}, pax: {}, header: encodeHeader(entry), content };
}

const scan = (entries: EntryRecord[], diffId: string): LayerScan => ({ storedSize: 0, tarSize: 0, entries, diffId });

test('the same entries in another order: ordering, at the first position out of place', () => {
  const a = scan([rec({ path: 'a' }), rec({ path: 'b' }), rec({ path: 'c' })], 'sha256:1');
  const b = scan([rec({ path: 'a' }), rec({ path: 'c' }), rec({ path: 'b' })], 'sha256:2');
  const cmp = compareLayerScans(a, b);
  assert.deepEqual(cmp.reordered, { position: 1, a: 'b', b: 'c' });
  assert.deepEqual(cmp.changed, []);
  const d = layerDifferences(cmp, { where: 'layer 1' });
  assert.deepEqual(d.map((x) => [x.cause, x.field, x.a, x.b]), [['ordering', 'entry order', 'b', 'c']]);
});

test('one field per cause: mtime is a timestamp, uid ownership, mode metadata; counted per field', () => {
  const a = scan([rec({ path: 'd', type: 'directory' }), rec({ path: 'd/x', uid: 0 }), rec({ path: 'd/y', mode: 0o644 })], 'sha256:1');
  const b = scan([rec({ path: 'd', type: 'directory', mtime: 2000 }), rec({ path: 'd/x', uid: 7, mtime: 2000 }), rec({ path: 'd/y', mode: 0o4755 })], 'sha256:2');
  const cmp = compareLayerScans(a, b);
  assert.deepEqual(cmp.first, { position: 0, a: 'd', b: 'd', fields: [{ field: 'mtime', a: '1000 (1970-01-01T00:16:40Z)', b: '2000 (1970-01-01T00:33:20Z)', cause: 'timestamp' }] });
  const d = layerDifferences(cmp, { where: 'layer 2' });
  assert.deepEqual(d.map((x) => [x.cause, x.field, x.where, x.explanation]), [
    ['timestamp', 'mtime', 'layer 2: d', '2 entries differ in mtime; the first is d'],
    ['ownership', 'uid', 'layer 2: d/x', 'this entry differs in uid'],
    ['metadata', 'mode', 'layer 2: d/y', 'this entry differs in mode'],
  ]);
});

test('equal fields but other header bytes: the ustar field that is encoded differently', () => {
  const x = rec({ path: 'f' });
  const y = { ...x, header: Buffer.from(x.header) };
  y.header.write('ustar  \0', 257, 'latin1'); // GNU magic instead of POSIX
  const cmp = compareLayerScans(scan([x], 'sha256:1'), scan([y], 'sha256:2'));
  assert.deepEqual(cmp.changed[0]!.fields.map((f) => [f.field, f.cause]), [['tar header encoding (ustar magic)', 'metadata']]);
});

test('the same DiffID: only the compressor, or its header', () => {
  const same = compareLayerScans(scan([rec({ path: 'f' })], 'sha256:1'), scan([rec({ path: 'f' })], 'sha256:1'));
  assert.deepEqual(layerDifferences(same, { where: 'layer 0' }).map((d) => [d.cause, d.field]), [['compressor', 'deflate stream']]);
});
