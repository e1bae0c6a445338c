import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { PackagesParser, decodeIndexChunk, parsePackagesIndex, parsePackagesStream } from './package-index.js';

const H1 = 'a'.repeat(64);
const H2 = '0123456789abcdef'.repeat(4);

const INDEX = [
  'Package: libfoo1',
  'Source: foo (1.2-3)',
  'Version: 1.2-3+b1',
  'Installed-Size: 120',
  'Maintainer: Zoë <z@example.org>',
  'Architecture: amd64',
  'Multi-Arch: same',
  'Depends: libc6 (>= 2.36),',
  ' libbar2 | libbaz2',
  'Description: a library',
  ' with a long description',
  ' .',
  ' and paragraphs',
  'X-Custom: kept out',
  'Priority: optional',
  'Section: libs',
  'Filename: pool/main/f/foo/libfoo1_1.2-3+b1_amd64.deb',
  'Size: 4242',
  'MD5sum: 00000000000000000000000000000000',
  'SHA256: ' + H1,
  '',
  '',
  'Package: foo-tools',
  'Source: foo',
  'Version: 1:2.0~rc1',
  'Architecture: all',
  'Essential: yes',
  'Pre-Depends: libfoo1 (= 1.2-3+b1)',
  'Provides: foo-tool (= 2.0)',
  'Filename: pool/main/f/foo/foo-tools_2.0..rc1_all.deb',
  'Size: 7',
  'SHA256: ' + H2,
  '',
  'Package: bar',
  'Version: 3',
  'Architecture: arm64',
  'Filename: pool/main/b/bar/bar_3_arm64.deb',
  'Size: 0',
  'SHA256: ' + H1,
].join('\n');

test('parses the fields strata keeps', () => {
  const records = parsePackagesIndex(INDEX, 'Packages');
  assert.equal(records.length, 3);
  assert.deepEqual(records[0], {
    name: 'libfoo1',
    version: '1.2-3+b1',
    architecture: 'amd64',
    multiArch: 'same',
    essential: false,
    priority: 'optional',
    section: 'libs',
    source: 'foo',
    sourceVersion: '1.2-3',
    depends: 'libc6 (>= 2.36), libbar2 | libbaz2',
    preDepends: '',
    recommends: '',
    suggests: '',
    provides: '',
    conflicts: '',
    breaks: '',
    replaces: '',
    filename: 'pool/main/f/foo/libfoo1_1.2-3+b1_amd64.deb',
    size: 4242,
    sha256: H1,
    installedSize: 120,
  });
  const [, tools, bar] = records;
  // Source without a version: the binary's own version is the source version.
  assert.deepEqual([tools!.source, tools!.sourceVersion, tools!.essential, tools!.multiArch], ['foo', '1:2.0~rc1', true, 'no']);
  assert.equal(tools!.preDepends, 'libfoo1 (= 1.2-3+b1)');
  assert.equal(tools!.provides, 'foo-tool (= 2.0)');
  // No Source field: the package is its own source.
  assert.deepEqual([bar!.source, bar!.sourceVersion, bar!.size, bar!.installedSize], ['bar', '3', 0, 0]);
});

test('gives identical records whatever the chunking, LF or CRLF', () => {
  for (const text of [INDEX, `${INDEX}\n`, INDEX.replace(/\n/g, '\r\n')]) {
    const whole = parsePackagesIndex(text, 'Packages');
    assert.equal(whole.length, 3);
    for (let size = 1; size <= text.length; size++) {
      const parser = new PackagesParser('Packages');
      for (let i = 0; i < text.length; i += size) parser.write(text.slice(i, i + size));
      assert.deepEqual(parser.end(), whole, `chunk size ${size}`);
    }
  }
});

test('parses a byte stream split inside a line', async () => {
  const bytes = Buffer.from(INDEX, 'utf8');
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += 97) yield new Uint8Array(bytes.subarray(i, i + 97));
  }
  assert.deepEqual(await parsePackagesStream(chunks(), 'Packages'), parsePackagesIndex(decodeIndexChunk(bytes), 'Packages'));
});

const STANZA = ['Package: foo', 'Version: 1.0-1', 'Architecture: amd64', 'Filename: pool/main/f/foo/foo_1.0-1_amd64.deb', 'Size: 10', `SHA256: ${H1}`];

function fails(lines: string[], message: RegExp): void {
  assert.throws(
    () => parsePackagesIndex(lines.join('\n'), 'main/Packages'),
    (e: unknown) => isStrataError(e, 'INDEX_INVALID') && message.test(e.message),
    lines.join(' / '),
  );
}

const without = (field: string) => STANZA.filter((l) => !l.startsWith(`${field}:`));
const replaced = (field: string, value: string) => STANZA.map((l) => (l.startsWith(`${field}:`) ? `${field}: ${value}` : l));

test('refuses stanzas without a required field, naming the stanza line', () => {
  fails(['Package: ok', 'Version: 1', 'Architecture: all', 'Filename: a.deb', 'Size: 1', `SHA256: ${H1}`, '', ...without('Package')], /^main\/Packages line 8: stanza without a valid Package field \(""\)$/);
  fails(without('Version'), /^main\/Packages line 1: foo: invalid Version ""$/);
  fails(without('Architecture'), /foo: no Architecture field/);
  fails(without('Filename'), /foo: missing or unsafe Filename ""/);
  fails(without('SHA256'), /foo: no valid SHA256 field/);
  fails(without('Size'), /foo: Size is "", not a number/);
});

test('refuses invalid values', () => {
  fails(replaced('Version', '1.0 beta'), /invalid Version "1\.0 beta"/);
  fails(replaced('SHA256', `${H1.slice(1)}g`), /no valid SHA256 field/);
  fails(replaced('SHA256', H1.slice(1)), /no valid SHA256 field/);
  fails(replaced('Size', '-1'), /Size is "-1"/);
  fails([...STANZA, 'Installed-Size: 1k'], /Installed-Size is "1k"/);
  fails([...STANZA, 'Multi-Arch: maybe'], /Multi-Arch is "maybe"/);
  fails([...STANZA, 'Source: Foo (1.0)'], /Source is "Foo \(1\.0\)"/);
  fails(replaced('Package', 'Foo'), /stanza without a valid Package field \("Foo"\)/);
});

test('refuses unsafe file names but not dots inside a name', () => {
  for (const bad of ['../x.deb', '/x.deb', 'pool/../../etc/x.deb', 'pool/main/..']) {
    fails(replaced('Filename', bad), new RegExp(`missing or unsafe Filename ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  }
  assert.equal(parsePackagesIndex(replaced('Filename', 'pool/a..b/x..y.deb').join('\n'), 'P')[0]!.filename, 'pool/a..b/x..y.deb');
});

test('refuses duplicate fields, known or not, in any case', () => {
  fails([...STANZA, 'Size: 11'], /^main\/Packages line 7: field Size appears twice in one stanza$/);
  fails([...STANZA, 'size: 11'], /line 7: field size appears twice/);
  fails([...STANZA, 'X-Thing: 1', 'x-thing: 2'], /line 8: field x-thing appears twice/);
  // The same unknown field in two stanzas is fine.
  assert.equal(parsePackagesIndex([...STANZA, 'X-Thing: 1', '', ...STANZA, 'X-Thing: 2'].join('\n'), 'P').length, 2);
});

test('refuses a continuation line with no field before it, and lines without a colon', () => {
  fails([' Package: foo', ...STANZA.slice(1)], /^main\/Packages line 1: continuation line outside a field$/);
  fails([...STANZA, '', ' orphan'], /line 8: continuation line outside a field/);
  fails([...STANZA.slice(0, 2), 'not a field', ...STANZA.slice(2)], /line 3: expected "Field: value", found "not a field"/);
  fails([...STANZA, 'Bad Field: x'], /line 7: invalid field name "Bad Field"/);
});
