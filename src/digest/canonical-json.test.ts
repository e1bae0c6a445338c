import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, canonicalJsonPretty } from './canonical-json.js';

test('canonical JSON sorts keys, drops undefined, has no whitespace', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: { z: 0, y: '\u00e9' } }), '{"a":[true,null,"x"],"b":1,"d":{"y":"é","z":0}}');
});

test('canonical JSON refuses fractions, NaN and class instances', () => {
  assert.throws(() => canonicalJson({ a: 1.5 }), /not a safe integer/);
  assert.throws(() => canonicalJson({ a: Number.NaN }), /not a safe integer/);
  assert.throws(() => canonicalJson({ a: new Date(0) }), /Date/);
});

test('pretty form is deterministic and parses to the same value', () => {
  const v = { z: [{ b: 2, a: 1 }], a: ['x', 'y'], m: {} };
  const text = canonicalJsonPretty(v);
  assert.equal(text, '{\n  "a": ["x","y"],\n  "m": {},\n  "z": [\n    {\n      "a": 1,\n      "b": 2\n    }\n  ]\n}\n');
  assert.deepEqual(JSON.parse(text), v);
  assert.equal(canonicalJsonPretty(JSON.parse(text)), text);
});
