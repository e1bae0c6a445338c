// The two ways a PackageIndex is made from a Packages file — records kept as objects
// (fromRecords) and the cold path that builds the cache form as it parses
// (PackageIndexBuilder) — must give the same index and the same cache bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackagesParser, parsePackagesIndex, type PackageRecord } from './package-index.js';
import { CACHE_RECORD_FIELDS, PackageIndex, PackageIndexBuilder, recordValues } from './index-store.js';

const sha = (c: string) => c.repeat(64);

const SAMPLE = [
  'Package: libfoo1',
  'Source: foo (1.2-3)',
  'Version: 1.2-3+b1',
  'Installed-Size: 120',
  'Maintainer: Jane Doe <jane@example.org>',
  'Architecture: amd64',
  'Multi-Arch: same',
  'Depends: libc6 (>= 2.34),',
  ' libbar2 | libbar-alt',
  'Description: a "quoted" \\ library',
  'Filename: pool/main/f/foo/libfoo1_1.2-3+b1_amd64.deb',
  'Size: 4096',
  `SHA256: ${sha('a')}`,
  'X-Custom-Field: kept out',
  '',
  'package: foo-tools',
  'Version: 2:0.9~rc1-1',
  'Architecture: all',
  'Provides: foo-cli (= 0.9), foo-helper, virtual-thing:any',
  'Section: utils',
  'Priority: optional',
  'Essential: yes',
  'Filename: pool/main/f/foo/foo-tools_0.9~rc1-1_all.deb',
  'Size: 10',
  `SHA256: ${sha('b')}`,
  'Conflicts: old-foo',
  'Breaks: older-foo (<< 0.5)',
  'Replaces: older-foo (<< 0.5)',
  'Pre-Depends: dpkg (>= 1.19)\r',
  'Recommends: "odd\\value"\t',
  '',
  '',
  'Package: libfoo1',
  'Version: 1.1-1',
  'Architecture: i386',
  'Filename: pool/main/f/foo/libfoo1_1.1-1_i386.deb',
  'Size: 4000',
  `SHA256: ${sha('c')}`,
  'Provides: virtual-thing',
  'Tag: role::shared-lib,',
  ' implemented-in::c',
  '',
  'Package: a-very-long-package-name-indeed',
  'Version: 1',
  'Architecture: amd64',
  'Filename: pool/main/a/a/a-very-long-package-name-indeed_1_amd64.deb',
  'Size: 1',
  `SHA256: ${sha('d')}`,
  'Provides: another-rather-long-virtual-name, virtual-thing',
].join('\n');

function built(text: string, chunk: number): PackageIndex {
  const builder = new PackageIndexBuilder();
  const parser = new PackagesParser('sample', (r) => builder.add(r));
  for (let i = 0; i < text.length; i += chunk) parser.write(text.slice(i, i + chunk));
  assert.deepEqual(parser.end(), []);
  return builder.finish();
}

function assertSameIndex(a: PackageIndex, b: PackageIndex, probe: string[]): void {
  assert.equal(a.size, b.size);
  assert.deepEqual([...a.allNames()], [...b.allNames()]);
  for (const name of probe) {
    assert.deepEqual(a.get(name), b.get(name), name);
    assert.deepEqual(a.providers(name), b.providers(name), name);
    assert.equal(a.hasName(name), b.hasName(name), name);
  }
}

const PROBE = ['libfoo1', 'foo-tools', 'foo-cli', 'foo-helper', 'virtual-thing', 'a-very-long-package-name-indeed', 'another-rather-long-virtual-name', 'missing', 'old-foo'];

test('recordValues lists a record in the cache field order', () => {
  const probe = Object.fromEntries(CACHE_RECORD_FIELDS.map((f, i) => [f, i])) as unknown as PackageRecord;
  assert.deepEqual(recordValues(probe), CACHE_RECORD_FIELDS.map((_, i) => i));
});

test('PackageIndexBuilder gives the same index and cache bytes as fromRecords, in any chunking', () => {
  const records = parsePackagesIndex(SAMPLE, 'sample');
  assert.equal(records.length, 4);
  const reference = PackageIndex.fromRecords(records);
  const text = reference.serialise();
  for (const chunk of [1, 7, 64, SAMPLE.length]) {
    const index = built(SAMPLE, chunk);
    assertSameIndex(index, reference, PROBE);
    assert.equal(index.serialise(), text);
    assert.deepEqual(Buffer.concat(index.serialiseToBuffers()), Buffer.from(text, 'latin1'));
  }
  assert.deepEqual(Buffer.concat(reference.serialiseToBuffers()), Buffer.from(text, 'latin1'));
});

test('the cache form reads back to the same index, and writes back the same bytes', () => {
  const reference = PackageIndex.fromRecords(parsePackagesIndex(SAMPLE, 'sample'));
  const text = built(SAMPLE, 13).serialise();
  const again = PackageIndex.deserialise(text);
  assert.ok(again !== undefined);
  assertSameIndex(again, reference, PROBE);
  assert.equal(again.serialise(), text);
  assert.deepEqual(Buffer.concat(again.serialiseToBuffers()), Buffer.from(text, 'latin1'));
});

test('records keep what the parser read: continuations, case, quotes, versions', () => {
  const index = built(SAMPLE, 5);
  const [tools] = index.get('foo-tools');
  assert.equal(tools?.version, '2:0.9~rc1-1');
  assert.equal(tools?.essential, true);
  assert.equal(tools?.preDepends, 'dpkg (>= 1.19)');
  assert.equal(tools?.recommends, '"odd\\value"');
  assert.deepEqual(index.providers('virtual-thing').map((r) => `${r.name}/${r.architecture}`), ['foo-tools/all', 'libfoo1/i386', 'a-very-long-package-name-indeed/amd64']);
  const foo = index.get('libfoo1');
  assert.deepEqual(foo.map((r) => r.version), ['1.2-3+b1', '1.1-1']);
  assert.equal(foo[0]?.depends, 'libc6 (>= 2.34), libbar2 | libbar-alt');
  assert.equal(foo[0]?.source, 'foo');
  assert.equal(foo[0]?.sourceVersion, '1.2-3');
  assert.equal(foo[0]?.multiArch, 'same');
  assert.equal(foo[0]?.installedSize, 120);
  assert.equal(foo[1]?.installedSize, 0);
});

test('an empty index', () => {
  const index = built('', 10);
  assert.equal(index.size, 0);
  assert.equal(index.serialise(), PackageIndex.fromRecords([]).serialise());
  assert.equal(PackageIndex.deserialise(index.serialise())?.size, 0);
});

test('the parser still refuses malformed stanzas', () => {
  const bad: Array<[string, RegExp]> = [
    ['Package: a\nVersion: 1\npackage: b\n', /line 3: field package appears twice/],
    ['Package: a\nX-Foo: 1\nx-foo: 2\n', /line 3: field x-foo appears twice/],
    ['Package: a\nBad Name: 1\n', /line 2: invalid field name "Bad Name"/],
    [' continued\n', /line 1: continuation line outside a field/],
    ['Package: a\nno colon here\n', /line 2: expected "Field: value"/],
    [`Package: ab\nVersion: 1\nArchitecture: all\nFilename: ../x.deb\nSize: 1\nSHA256: ${sha('e')}\n`, /unsafe Filename/],
    [`Package: ab\nVersion: 1\nArchitecture: all\nFilename: x.deb\nSize: 1\nSHA256: ${sha('E')}\n`, /no valid SHA256/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => built(text, 3), message, text);
    assert.throws(() => parsePackagesIndex(text, 'sample'), message, text);
  }
});
