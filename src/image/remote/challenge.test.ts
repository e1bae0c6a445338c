import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges, parseTokenAnswer } from './challenge.js';
import { isStrataError } from '../../errors.js';

test('WWW-Authenticate: bearer with quoted params (commas inside quotes), basic, several challenges', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseChallenges(['Basic realm=x', 'Bearer realm="r", service=s']).map((c) => c.scheme), ['basic', 'bearer']);
  assert.deepEqual(parseChallenges('Negotiate abc, Bearer realm="r"'), [{ scheme: 'bearer', params: { realm: 'r' } }]);
  assert.deepEqual(parseChallenges(undefined), []);
});

test('token answers: token or access_token, expiry defaults to 60 s; anything else is an error', () => {
  assert.deepEqual(parseTokenAnswer(Buffer.from('{"token":"t","expires_in":300}'), 'r'), { token: 't', expiresIn: 300 });
  assert.deepEqual(parseTokenAnswer(Buffer.from('{"access_token":"a"}'), 'r'), { token: 'a', expiresIn: 60 });
  assert.throws(() => parseTokenAnswer(Buffer.from('{}'), 'r'), (e) => isStrataError(e, 'REGISTRY_ERROR'));
  assert.throws(() => parseTokenAnswer(Buffer.from('<html>'), 'r'), (e) => isStrataError(e, 'REGISTRY_ERROR'));
});
