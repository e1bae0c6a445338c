import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { fieldLines, fieldWords, parseDeb822 } from './deb822.js';

const fails = (text: string, message: RegExp, options: Partial<Parameters<typeof parseDeb822>[1]> = {}) =>
  assert.throws(
    () => parseDeb822(text, { source: 'test.sources', ...options }),
    (e: unknown) => isStrataError(e, options.errorCode ?? 'INDEX_INVALID') && message.test(e.message),
    JSON.stringify(text),
  );

test('stanzas are separated by blank or whitespace-only lines; keys are lower-cased', () => {
  const stanzas = parseDeb822('Package: a\nVersion:  1.0  \n\n\n \t\nPackage: b\r\nMulti-Arch: same\r\n', { source: 's' });
  assert.deepEqual(
    stanzas.map((s) => Object.fromEntries(s)),
    [
      { package: 'a', version: '1.0' },
      { package: 'b', 'multi-arch': 'same' },
    ],
  );
});

test('continuation lines and " ." lines are kept in the value', () => {
  const [s] = parseDeb822('Description: short\n long line one\n .\n\tindented  more\nSHA256:\n abc 1 main/x\n', { source: 's' });
  assert.equal(s!.get('description'), 'short\nlong line one\n.\nindented  more');
  assert.deepEqual(fieldLines(s!.get('description')), ['long line one', 'indented  more']);
  assert.deepEqual(fieldLines(s!.get('sha256')), ['abc 1 main/x']);
});

test('comment lines are skipped only when allowed, without ending the stanza', () => {
  const text = '# header\nTypes: deb\n# inside\nURIs: http://x\n';
  assert.deepEqual(
    parseDeb822(text, { source: 's', allowComments: true }).map((s) => [...s.keys()]),
    [['types', 'uris']],
  );
  fails(text, /^test\.sources line 1: expected "Field: value", found "# header"$/);
  fails('#Types: deb\n', /^test\.sources line 1: invalid field name "#Types"$/);
});

test('a field given twice in one stanza is an error, whatever its case', () => {
  fails('Package: a\nVersion: 1\npackage: b\n', /^test\.sources line 3: field package appears twice in one stanza$/);
  assert.equal(parseDeb822('Package: a\n\nPackage: b\n', { source: 's' }).length, 2);
});

test('malformed lines name the source and the line, offset by firstLine', () => {
  fails(' continued\n', /^test\.sources line 1: continuation line outside a field$/);
  fails('A: 1\n\n more\n', /^test\.sources line 3: continuation line outside a field$/);
  fails('A: 1\nno colon here\n', /^test\.sources line 12: expected "Field: value"/, { firstLine: 11 });
  fails(': value\n', /line 1: expected "Field: value"/);
  fails('-Field: x\n', /line 1: invalid field name "-Field"/);
  fails('Bad Name: x\n', /line 1: invalid field name "Bad Name"/, { errorCode: 'APT_SOURCES_INVALID' });
  try {
    parseDeb822('A: 1\nA: 2\n', { source: 'f', firstLine: 5 });
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isStrataError(e));
    assert.deepEqual(e.detail, { source: 'f', line: 6 });
  }
});

test('fieldWords splits on any whitespace, including folded lines', () => {
  assert.deepEqual(fieldWords(' amd64  arm64\n\ti386 '), ['amd64', 'arm64', 'i386']);
  assert.deepEqual(fieldWords(undefined), []);
  assert.deepEqual(fieldLines(undefined), []);
});
