import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingInterpreter } from './command-lookup.js';

const PATH = '/usr/bin:/bin';

async function tree(t: { after: (fn: () => unknown) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'strata-lookup-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'usr', 'bin'), { recursive: true });
  await symlink('usr/bin', join(root, 'bin'));
  return root;
}

async function script(root: string, name: string, text: string): Promise<void> {
  await writeFile(join(root, 'usr', 'bin', name), text);
  await chmod(join(root, 'usr', 'bin', name), 0o755);
}

test('a script whose #! interpreter, or the program env is asked for, is missing is named', async (t) => {
  const root = await tree(t);
  await script(root, 'tool', '#!/bin/bash\necho hi\n');
  assert.equal(await missingInterpreter(root, '/usr/bin/tool', PATH), '/bin/bash');
  await script(root, 'bash', '#!/bin/true\n'); // any executable will do as the interpreter here
  await script(root, 'true', '');
  assert.equal(await missingInterpreter(root, '/usr/bin/tool', PATH), undefined, 'found through the /bin symlink');
  await script(root, 'py', '#!/usr/bin/env -S python3 -u\nprint(1)\n');
  await script(root, 'env', '');
  assert.equal(await missingInterpreter(root, '/usr/bin/py', PATH), 'python3 (asked for by /usr/bin/env)');
  await script(root, 'python3', '');
  assert.equal(await missingInterpreter(root, '/usr/bin/py', PATH), undefined);
});

test("an ELF program's loader (PT_INTERP) must be in the tree; a file of another format is left to the sandbox", async (t) => {
  const root = await tree(t);
  await copyFile('/bin/true', join(root, 'usr', 'bin', 'true'));
  const missing = await missingInterpreter(root, '/usr/bin/true', PATH);
  assert.match(missing ?? '', /^\/lib.*\/ld-linux.*\.so\.\d$/, `the host's /bin/true names its loader: ${missing}`);
  await mkdir(join(root, ...missing!.split('/').slice(1, -1)), { recursive: true });
  await copyFile(missing!, join(root, missing!));
  assert.equal(await missingInterpreter(root, '/usr/bin/true', PATH), undefined);
  await script(root, 'data', 'no interpreter line\n');
  assert.equal(await missingInterpreter(root, '/usr/bin/data', PATH), undefined);
});
