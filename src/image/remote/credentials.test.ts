import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authFiles, authKeys, findCredentials } from './credentials.js';
import { isStrataError } from '../../errors.js';

test('auth file order follows containers-auth.json(5), then Docker', () => {
  assert.deepEqual(authFiles({ HOME: '/h', XDG_RUNTIME_DIR: '/run/u' }), ['/run/u/containers/auth.json', '/h/.config/containers/auth.json', '/h/.docker/config.json']);
  assert.deepEqual(authFiles({ HOME: '/h', REGISTRY_AUTH_FILE: '/a.json', DOCKER_CONFIG: '/d' }), ['/a.json', '/d/config.json']);
});

test('auths keys: namespace prefixes first, Docker Hub aliases', () => {
  assert.deepEqual(authKeys({ registry: 'ghcr.io', repository: 'org/team/app' }).slice(0, 4), ['ghcr.io/org/team/app', 'ghcr.io/org/team', 'ghcr.io/org', 'ghcr.io']);
  assert.ok(authKeys({ registry: 'docker.io', repository: 'library/redis' }).includes('https://index.docker.io/v1/'));
});

test('credHelpers beat auths, auths beat credsStore; identity tokens; a bad file is an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-creds-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'docker'));
  const env = { HOME: dir, DOCKER_CONFIG: join(dir, 'docker'), XDG_CONFIG_HOME: join(dir, 'cfg') };
  const asked: string[] = [];
  const runHelper = async (name: string, server: string) => {
    asked.push(`${name} ${server}`);
    return name === 'none' ? undefined : { Username: name === 'tok' ? '<token>' : 'helper-user', Secret: `secret-of-${name}` };
  };
  const write = (v: unknown) => writeFile(join(dir, 'docker', 'config.json'), JSON.stringify(v));
  const ref = { registry: 'reg.example', repository: 'team/app' };
  await write({ credHelpers: { 'reg.example': 'pass' }, auths: { 'reg.example': { auth: Buffer.from('u:p').toString('base64') } } });
  assert.deepEqual(await findCredentials(ref, { env, runHelper }), { kind: 'basic', username: 'helper-user', password: 'secret-of-pass', source: `docker-credential-pass (credHelpers in ${join(dir, 'docker', 'config.json')})` });
  await write({ credsStore: 'none', auths: { 'reg.example/team': { auth: Buffer.from('u:p:with:colons').toString('base64') } } });
  const c = await findCredentials(ref, { env, runHelper });
  assert.equal(c?.kind === 'basic' && c.password, 'p:with:colons');
  await write({ credsStore: 'tok' });
  assert.equal((await findCredentials(ref, { env, runHelper }))?.kind, 'identity-token');
  await write({ credsStore: 'none' });
  assert.equal(await findCredentials(ref, { env, runHelper }), undefined);
  assert.deepEqual(await findCredentials(ref, { env, runHelper, explicit: { username: 'x', password: 'y' } }), { kind: 'basic', username: 'x', password: 'y', source: 'the command line' });
  await writeFile(join(dir, 'docker', 'config.json'), '{not json');
  await assert.rejects(findCredentials(ref, { env, runHelper }), (e) => isStrataError(e, 'AUTH_CONFIG_INVALID'));
});
