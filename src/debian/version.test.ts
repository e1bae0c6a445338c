import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { compareFragment, compareVersions, parseVersion, satisfiesVersion, tryParseVersion } from './version.js';

test('parses epoch, upstream and revision', () => {
  assert.deepEqual(tryParseVersion('1.2.3'), { epoch: 0, upstream: '1.2.3', revision: '' });
  assert.deepEqual(tryParseVersion('2:1.0-3'), { epoch: 2, upstream: '1.0', revision: '3' });
  // The revision follows the last hyphen; colons after the epoch belong to upstream.
  assert.deepEqual(tryParseVersion('1.0-rc1-2+deb12u1'), { epoch: 0, upstream: '1.0-rc1', revision: '2+deb12u1' });
  assert.deepEqual(tryParseVersion('1:2:3-4'), { epoch: 1, upstream: '2:3', revision: '4' });
  assert.deepEqual(tryParseVersion('  1.0~rc1 '), { epoch: 0, upstream: '1.0~rc1', revision: '' });
});

test('rejects malformed versions', () => {
  for (const bad of ['', ' ', '1.0 1', ':1.0', 'a:1.0', '-1:1.0', '1:', '1.0-', '-1', '1.0_1', '1.0-a:b', '1.0-a_b', '2147483648:1', '1.0\t2']) {
    assert.equal(tryParseVersion(bad), undefined, JSON.stringify(bad));
  }
  assert.deepEqual(tryParseVersion('2147483647:1'), { epoch: 2147483647, upstream: '1', revision: '' });
});

test('parseVersion throws INDEX_INVALID naming the context', () => {
  assert.throws(
    () => parseVersion('1.0-', 'Packages line 7'),
    (e: unknown) => isStrataError(e, 'INDEX_INVALID') && /^Packages line 7: "1\.0-" is not a valid Debian version$/.test(e.message),
  );
});

test('orders versions like dpkg', () => {
  // Each list is strictly increasing.
  const chains = [
    ['1.0~~', '1.0~~a', '1.0~', '1.0~rc1', '1.0', '1.0a', '1.0+', '1.0.', '1.0.1'],
    ['1.2', '1.10', '1.100'],
    ['1.0-1', '1.0-1+b1', '1.0-1.1', '1.0-2', '1.0-10'],
    ['1.0-1~bpo12+1', '1.0-1', '1.0-1+deb12u1'],
    ['9.9', '1:0.1', '2:0'],
    ['0', 'a', 'b', 'z'],
  ];
  for (const chain of chains) {
    for (let i = 0; i + 1 < chain.length; i++) {
      const [a, b] = [chain[i]!, chain[i + 1]!];
      assert.ok(compareVersions(a, b) < 0, `${a} < ${b}`);
      assert.ok(compareVersions(b, a) > 0, `${b} > ${a}`);
    }
  }
});

test('equal versions: leading zeros, zero epoch, zero revision', () => {
  for (const [a, b] of [['1.0', '1.00'], ['0:1.0', '1.0'], ['1.0-0', '1.0'], ['1.01', '1.1'], ['1.0-00', '1.0-0']] as const) {
    assert.equal(compareVersions(a, b), 0, `${a} = ${b}`);
  }
  assert.notEqual(compareVersions('1.0', '1.0.0'), 0);
});

test('compareFragment handles the end of the string against ~ and letters', () => {
  assert.ok(compareFragment('', '~') > 0);
  assert.ok(compareFragment('', 'a') < 0);
  assert.ok(compareFragment('', '0') === 0);
  assert.ok(compareFragment('1', '') > 0);
});

test('compareVersions throws on an invalid version', () => {
  assert.throws(() => compareVersions('1.0', 'not a version'), (e: unknown) => isStrataError(e, 'INDEX_INVALID'));
});

test('satisfiesVersion implements the five relation operators', () => {
  const cases: Array<[string, Parameters<typeof satisfiesVersion>[1], string, boolean]> = [
    ['1.0', '<<', '1.1', true],
    ['1.1', '<<', '1.1', false],
    ['1.1', '<=', '1.1', true],
    ['1.2', '<=', '1.1', false],
    ['1:1.0', '=', '1:1.0-0', true],
    ['1.0', '=', '1.0-1', false],
    ['1.0', '>=', '1.0~rc1', true],
    ['1.0~rc1', '>=', '1.0', false],
    ['1.0+b1', '>>', '1.0', true],
    ['1.0', '>>', '1.0', false],
  ];
  for (const [v, op, w, want] of cases) assert.equal(satisfiesVersion(v, op, w), want, `${v} ${op} ${w}`);
});
