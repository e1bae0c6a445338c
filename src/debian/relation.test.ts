import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { formatRelationClause, isPackageName, parseRelation, parseRelationAtom } from './relation.js';

test('clauses split on commas, alternatives on bars', () => {
  assert.deepEqual(parseRelation('libc6 (>= 2.36), libssl3 | libssl1.1,\n adduser', 'x'), [
    [{ name: 'libc6', op: '>=', version: '2.36' }],
    [{ name: 'libssl3' }, { name: 'libssl1.1' }],
    [{ name: 'adduser' }],
  ]);
});

test('an absent or empty field is no relation', () => {
  assert.deepEqual(parseRelation(undefined, 'x'), []);
  assert.deepEqual(parseRelation('  \n ', 'x'), []);
});

test('every operator, with or without spaces, and versions with epochs and revisions', () => {
  assert.deepEqual(parseRelation('a0 (<< 1:2.0-1), b0 (<=1.0~rc1), c0(= 3), d0 ( >= 4 ), e0 (>> 5+b1)', 'x'), [
    [{ name: 'a0', op: '<<', version: '1:2.0-1' }],
    [{ name: 'b0', op: '<=', version: '1.0~rc1' }],
    [{ name: 'c0', op: '=', version: '3' }],
    [{ name: 'd0', op: '>=', version: '4' }],
    [{ name: 'e0', op: '>>', version: '5+b1' }],
  ]);
});

test('obsolete < and > mean <= and >=', () => {
  assert.deepEqual(parseRelationAtom('foo (< 1.0)', 'x'), { name: 'foo', op: '<=', version: '1.0' });
  assert.deepEqual(parseRelationAtom('foo (> 1.0)', 'x'), { name: 'foo', op: '>=', version: '1.0' });
});

test('architecture qualifiers are kept', () => {
  assert.deepEqual(parseRelationAtom('python3:any (>= 3.11)', 'x'), { name: 'python3', arch: 'any', op: '>=', version: '3.11' });
  assert.deepEqual(parseRelationAtom('libfoo1:arm64', 'x'), { name: 'libfoo1', arch: 'arm64' });
});

test('architecture restrictions and build profiles are dropped', () => {
  assert.deepEqual(parseRelation('foo [amd64 arm64], bar (>= 1) [!i386], baz <!nocheck> <stage1 cross>', 'x'), [
    [{ name: 'foo' }],
    [{ name: 'bar', op: '>=', version: '1' }],
    [{ name: 'baz' }],
  ]);
});

test('a build profile after a << or <= constraint keeps the constraint', () => {
  assert.deepEqual(parseRelationAtom('foo (<< 1.0) <!nocheck>', 'x'), { name: 'foo', op: '<<', version: '1.0' });
  assert.deepEqual(parseRelationAtom('foo (<= 2) [amd64] <stage1> <!cross>', 'x'), { name: 'foo', op: '<=', version: '2' });
  assert.deepEqual(parseRelationAtom('foo (< 3) <stage1>', 'x'), { name: 'foo', op: '<=', version: '3' });
});

test('errors name the context and the bad text', () => {
  const cases: Array<[string, RegExp]> = [
    ['Foo', /^pkg 1\.0 Depends: cannot parse relation "Foo"$/],
    ['aa, , bb', /cannot parse relation ""/],
    ['foo (~= 1.0)', /cannot parse relation "foo \(~= 1\.0\)"/],
    ['foo (>= 1.0', /cannot parse relation/],
    ['foo (>= 1.0-)', /^pkg 1\.0 Depends: "1\.0-" is not a valid version in "foo \(>= 1\.0-\)"$/],
    ['foo:Any', /cannot parse relation "foo:Any"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseRelation(text, 'pkg 1.0 Depends'),
      (e: unknown) => isStrataError(e, 'INDEX_INVALID') && message.test(e.message),
      text,
    );
  }
});

test('package names follow Policy: two or more of [a-z0-9+.-], starting alphanumeric', () => {
  for (const good of ['a0', 'libc6', 'g++', 'libstdc++6', 'python3.11', '0ad']) assert.ok(isPackageName(good), good);
  for (const bad of ['a', '', '-foo', '.foo', 'Foo', 'foo_bar', 'foo bar']) assert.ok(!isPackageName(bad), bad);
});

test('formatting round-trips a parsed clause', () => {
  const text = 'default-mta | mail-transport-agent:any (>= 1:2.0-1)';
  assert.equal(formatRelationClause(parseRelation(text, 'x')[0]!), text);
});
