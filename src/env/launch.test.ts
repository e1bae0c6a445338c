import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStrataError } from '../errors.js';
import { adhocKey, adhocPackages } from './adhoc.js';
import { findCommand, listCommands, resolveInRoot } from './command-lookup.js';
import { parseEnvAssignments, resolveUser, runArgv } from './launch.js';

test('run: a command replaces entrypoint and cmd; --entrypoint and --args follow docker run', () => {
  const image = { entrypoint: ['/usr/bin/python3'], cmd: ['-V'] };
  assert.deepEqual(runArgv(image, { command: [], entrypointArgs: false }), ['/usr/bin/python3', '-V']);
  assert.deepEqual(runArgv(image, { command: ['python3', '-c', 'x'], entrypointArgs: false }), ['python3', '-c', 'x']);
  assert.deepEqual(runArgv(image, { command: ['-c', 'x'], entrypointArgs: true }), ['/usr/bin/python3', '-c', 'x']);
  assert.deepEqual(runArgv(image, { command: ['-c', 'x'], entrypoint: '/bin/sh', entrypointArgs: false }), ['/bin/sh', '-c', 'x']);
  assert.deepEqual(runArgv(image, { command: [], entrypoint: '/bin/sh', entrypointArgs: false }), ['/bin/sh'], '--entrypoint drops the image\'s cmd');
  assert.deepEqual(runArgv(image, { command: ['ls'], entrypoint: '', entrypointArgs: false }), ['ls']);
});

test('--env NAME=VALUE sets, NAME passes the host\'s value, a bad name is a usage error', () => {
  assert.deepEqual(parseEnvAssignments(['A=1', 'B=', 'HOSTVAR', 'MISSING'], { HOSTVAR: 'h' }), [['A', '1'], ['B', ''], ['HOSTVAR', 'h']]);
  assert.throws(() => parseEnvAssignments(['1X=2'], {}), (e: unknown) => isStrataError(e, 'USAGE'));
});

test('commands are found inside the tree: absolute symlinks and ".." stay inside it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'strata-lookup-'));
  try {
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await symlink('usr/bin', join(root, 'bin'));
    await writeFile(join(root, 'usr/bin/tool'), '#!/bin/sh\n');
    await chmod(join(root, 'usr/bin/tool'), 0o755);
    await writeFile(join(root, 'usr/bin/data'), 'not executable');
    await symlink('/bin/tool', join(root, 'usr/bin/alias'));
    await symlink('../../../../../etc', join(root, 'usr/bin/escape'));
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/app:/usr/sbin/nologin\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\napp:x:10001:\nstaff:x:50:\n');
    assert.equal(await resolveInRoot(root, '/bin/alias'), join(root, 'usr/bin/tool'));
    assert.equal(await resolveInRoot(root, '/usr/bin/escape/passwd'), join(root, 'etc/passwd'), '".." stops at the top of the tree');
    assert.equal(await findCommand(root, 'tool', '/usr/local/bin:/bin', '/'), '/bin/tool');
    assert.equal(await findCommand(root, 'alias', '/usr/bin', '/'), '/usr/bin/alias');
    assert.equal(await findCommand(root, 'data', '/usr/bin', '/'), undefined, 'not executable');
    assert.equal(await findCommand(root, './tool', '/nowhere', '/usr/bin'), '/usr/bin/tool', 'a path is taken from the working directory');
    assert.equal(await findCommand(root, 'nosuch', '/usr/bin', '/'), undefined);
    assert.deepEqual(await listCommands(root, '/usr/bin:/bin'), ['alias', 'tool']);
    assert.deepEqual(await resolveUser(root, 'app'), { uid: 10001, gid: 10001, home: '/app' });
    assert.deepEqual(await resolveUser(root, '10001:staff'), { uid: 10001, gid: 50, home: '/app' });
    assert.deepEqual(await resolveUser(root, '4242'), { uid: 4242, gid: 0, home: undefined });
    await assert.rejects(resolveUser(root, 'nobody'), (e: unknown) => isStrataError(e, 'USAGE'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('ad-hoc requests: sorted, de-duplicated, validated; the key changes with the sources', () => {
  assert.deepEqual(adhocPackages(['git', 'curl', 'git', 'python3 (>= 3.11)']), ['curl', 'git', 'python3 (>= 3.11)']);
  assert.throws(() => adhocPackages(['Not_A_Package']), (e: unknown) => isStrataError(e, 'USAGE'));
  const a = { uri: 'http://a/debian', suite: 'bookworm', components: ['main'], origin: 'x' };
  assert.equal(adhocKey(['curl', 'git'], 'amd64', [a]), adhocKey(['curl', 'git'], 'amd64', [{ ...a, origin: 'another file' }]), 'where the entry was written does not matter');
  assert.notEqual(adhocKey(['curl', 'git'], 'amd64', [a]), adhocKey(['curl', 'git'], 'amd64', [{ ...a, suite: 'trixie' }]));
  assert.notEqual(adhocKey(['curl', 'git'], 'amd64', [a]), adhocKey(['curl', 'git'], 'arm64', [a]));
});
