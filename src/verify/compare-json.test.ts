import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareJson, jsonChanges } from './compare-json.js';

const b = (s: string) => Buffer.from(s);

test('equal bytes are identical', () => {
  assert.deepEqual(compareJson(b('{"a":1}'), b('{"a":1}')), { kind: 'identical' });
});

test('the same values with keys in another order name the object and both orders', () => {
  assert.deepEqual(compareJson(b('{"a":1,"o":{"x":1,"y":2}}'), b('{"a":1,"o":{"y":2,"x":1}}')), { kind: 'key-order', path: 'o', a: ['x', 'y'], b: ['y', 'x'] });
  assert.deepEqual(compareJson(b('{"a":1,"b":2}'), b('{"b":2,"a":1}')), { kind: 'key-order', path: '(top level)', a: ['a', 'b'], b: ['b', 'a'] });
});

test('the same values and order written differently: formatting, from the first differing byte', () => {
  assert.deepEqual(compareJson(b('{"a":1}'), b('{"a": 1}')), { kind: 'formatting', offset: 5 });
});

test('changed values are listed leaf by leaf, keys sorted, arrays by index', () => {
  const c = compareJson(b('{"created":"x","history":[{"a":1},{"a":2}],"z":true}'), b('{"created":"y","history":[{"a":1}],"n":null,"z":true}'));
  assert.equal(c.kind, 'values');
  assert.deepEqual(c.kind === 'values' ? c.changes : [], [
    { path: 'created', kind: 'changed', a: 'x', b: 'y' },
    { path: 'history[1]', kind: 'removed', a: { a: 2 } },
    { path: 'n', kind: 'added', b: null },
  ]);
  assert.deepEqual(jsonChanges({ a: [1] }, { a: [1] }), []);
});
