import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleTree, MOUNT_POINT_FILES } from './assemble.js';

async function tree(root: string, spec: Record<string, string | { link: string } | null>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [path, v] of Object.entries(spec)) {
    const p = join(root, path);
    if (v === null) await mkdir(p, { recursive: true });
    else {
      await mkdir(join(p, '..'), { recursive: true });
      if (typeof v === 'string') await writeFile(p, v);
      else await symlink(v.link, p);
    }
  }
}

test('layers stack: upper entries replace lower ones, whiteouts remove, opaque directories empty, files are hard links', async () => {
  const work = await mkdtemp(join(tmpdir(), 'strata-assemble-'));
  try {
    const l1 = join(work, 'l1');
    const l2 = join(work, 'l2');
    await tree(l1, { 'usr/bin/a': 'a1', 'usr/bin/b': 'b1', 'etc/x/old': 'o', 'etc/y': 'y', 'opt/keep': 'k', 'bin': { link: 'usr/bin' }, 'etc/hosts': { link: '/run/hosts' } });
    await tree(l2, { 'usr/bin/a': 'a2', 'usr/bin/.wh.b': '', 'etc/x/.wh..wh..opq': '', 'etc/x/new': 'n', 'etc/.wh.y': '', 'opt/keep/inner': 'now a directory' });
    const out = join(work, 'env');
    await assembleTree([l1, l2], out);
    assert.equal(await readFile(join(out, 'usr/bin/a'), 'utf8'), 'a2');
    assert.equal((await stat(join(out, 'usr/bin/a'))).ino, (await stat(join(l2, 'usr/bin/a'))).ino, 'a hard link into the upper layer');
    assert.deepEqual(await readdir(join(out, 'usr/bin')), ['a']);
    assert.deepEqual(await readdir(join(out, 'etc/x')), ['new']);
    assert.equal(await readlink(join(out, 'bin')), 'usr/bin', 'symlinks are kept as symlinks');
    assert.equal(await readFile(join(out, 'opt/keep/inner'), 'utf8'), 'now a directory');
    for (const f of MOUNT_POINT_FILES) assert.ok((await lstat(join(out, f))).isFile(), `${f} is a file to mount on`);
    assert.ok(!(await readdir(join(out, 'etc'))).includes('y'));
    assert.equal((await stat(out)).mode & 0o777, 0o755);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
