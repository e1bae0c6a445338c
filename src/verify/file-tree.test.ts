import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tarToBuffer } from '../archive/tar-writer.js';
import type { TarEntry } from '../archive/tar-header.js';
import type { ImageLayer, PlatformImage } from '../image/image-reader.js';
import { readFileTree } from './file-tree.js';

const file = (path: string, content = 'x'): { entry: TarEntry; content: Buffer } => ({ entry: { path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: Buffer.byteLength(content), mtime: 1 }, content: Buffer.from(content) });
const dir = (path: string): { entry: TarEntry } => ({ entry: { path, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 } });

async function layer(index: number, entries: Array<{ entry: TarEntry; content?: Buffer }>): Promise<ImageLayer> {
  const tar = await tarToBuffer(entries);
  return { index, diffId: `sha256:${index}`, mediaType: 'application/vnd.oci.image.layer.v1.tar', compression: 'none', open: async function* () { yield tar; } };
}

test('layers apply in order: later entries replace, .wh. files and opaque directories remove', async () => {
  const layers = [
    await layer(0, [dir('a'), file('a/keep'), file('a/gone'), dir('b'), file('b/old'), file('var/lib/dpkg/status.d/p', 'Package: p\nVersion: 1\n')]),
    await layer(1, [file('a/.wh.gone', ''), file('a/keep', 'new'), dir('b'), file('b/.wh..wh..opq', ''), file('b/fresh')]),
  ];
  const p = { platform: 'linux/amd64', config: { digest: '', actualDigest: '', bytes: Buffer.alloc(0), value: {} }, layers } as unknown as PlatformImage;
  const tree = await readFileTree(p, 'test');
  assert.deepEqual([...tree.files.keys()].sort(), ['a', 'a/keep', 'b', 'b/fresh', 'var/lib/dpkg/status.d/p']);
  assert.equal(tree.files.get('a/keep')!.layer, 1);
  assert.equal(tree.database.get('var/lib/dpkg/status.d/p'), 'Package: p\nVersion: 1\n');
  assert.deepEqual(tree.layers.map((l) => [l.index, l.error]), [[0, undefined], [1, undefined]]);
});
