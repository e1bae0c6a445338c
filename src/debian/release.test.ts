import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { parseRelease, parseReleaseDate } from './release.js';

const H1 = '1'.repeat(64);
const H2 = 'ab'.repeat(32);

const RELEASE = `Origin: Debian
Label: Debian
Suite: oldstable
Version: 12.11
Codename: bookworm
Date: Sat, 17 May 2025 09:06:38 UTC
Valid-Until: Sat, 24 May 2025 09:06:38 UTC
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: all amd64 arm64
Components: main contrib
Description: Debian 12.11 Released 17 May 2025
MD5Sum:
 00000000000000000000000000000000     1234 main/binary-amd64/Packages
SHA256:
 ${H1}  48000000 main/binary-amd64/Packages
 ${H2}   8000000 main/binary-amd64/Packages.xz
`;

test('parses identity, dates, flags and the SHA256 list', () => {
  const r = parseRelease(RELEASE, 'bookworm/InRelease');
  assert.deepEqual(
    [r.origin, r.label, r.suite, r.codename, r.version, r.date],
    ['Debian', 'Debian', 'oldstable', 'bookworm', '12.11', 'Sat, 17 May 2025 09:06:38 UTC'],
  );
  assert.equal(r.dateEpoch, Date.UTC(2025, 4, 17, 9, 6, 38) / 1000);
  assert.equal(r.validUntil, 'Sat, 24 May 2025 09:06:38 UTC');
  assert.equal(r.validUntilEpoch, Date.UTC(2025, 4, 24, 9, 6, 38) / 1000);
  assert.equal(r.acquireByHash, true);
  assert.equal(r.noArchAllIndex, true);
  assert.deepEqual(r.architectures, ['all', 'amd64', 'arm64']);
  assert.deepEqual(r.components, ['main', 'contrib']);
  assert.deepEqual([...r.sha256.values()], [
    { path: 'main/binary-amd64/Packages', sha256: H1, size: 48000000 },
    { path: 'main/binary-amd64/Packages.xz', sha256: H2, size: 8000000 },
  ]);
});

test('optional fields default to absent or false', () => {
  const minimal = `Date: Thu, 01 Jan 2015 00:00:00 UTC\nSHA256:\n ${H1} 1 main/binary-amd64/Packages\n`;
  const r = parseRelease(minimal, 'r');
  assert.equal(r.dateEpoch, 1420070400);
  assert.equal(r.validUntil, undefined);
  assert.equal(r.validUntilEpoch, undefined);
  assert.equal(r.acquireByHash, false);
  assert.equal(r.noArchAllIndex, false);
  assert.equal(r.suite, '');
  assert.equal(parseRelease(`Acquire-By-Hash: no\n${minimal}`, 'r').acquireByHash, false);
  assert.equal(parseRelease(`No-Support-for-Architecture-all: Contents\n${minimal}`, 'r').noArchAllIndex, false);
});

function fails(text: string, message: RegExp): void {
  assert.throws(() => parseRelease(text, 'sid/InRelease'), (e: unknown) => isStrataError(e, 'RELEASE_INVALID') && message.test(e.message), text);
}

test('refuses a Release without a usable SHA256 list', () => {
  const date = 'Date: Thu, 01 Jan 2015 00:00:00 UTC\n';
  fails(`${date}MD5Sum:\n 00000000000000000000000000000000 1 main/binary-amd64/Packages\n`, /^sid\/InRelease: no SHA256 list/);
  fails(`${date}SHA256:\n`, /no SHA256 list/);
  fails(`${date}SHA256:\n ${H1.slice(1)} 1 p\n`, /malformed SHA256 line/);
  fails(`${date}SHA256:\n ${H1.slice(1)}g 1 p\n`, /malformed SHA256 line/);
  fails(`${date}SHA256:\n ${H1} big p\n`, /malformed SHA256 line/);
  fails(`${date}SHA256:\n ${H1} 1\n`, /malformed SHA256 line/);
  fails(`${date}SHA256:\n ${H1} 1 p extra\n`, /malformed SHA256 line ".* 1 p extra"/);
});

test('refuses missing or unreadable dates, several stanzas and bad syntax', () => {
  const sha = `SHA256:\n ${H1} 1 p\n`;
  fails(sha, /^sid\/InRelease: no Date field$/);
  fails(`Date: someday\n${sha}`, /cannot read the date "someday"/);
  fails(`Date: Thu, 01 Jan 2015 00:00:00 UTC\nValid-Until: never\n${sha}`, /cannot read the date "never"/);
  fails(`Date: Thu, 01 Jan 2015 00:00:00 UTC\n${sha}\nOrigin: x\n`, /expected one stanza, found 2/);
  fails(`Date: Thu, 01 Jan 2015 00:00:00 UTC\nDate: Fri, 02 Jan 2015 00:00:00 UTC\n${sha}`, /^sid\/InRelease line 2: field Date appears twice/);
});

test('parseReleaseDate reads RFC 2822 dates with UTC or numeric zones', () => {
  assert.equal(parseReleaseDate('Sat, 17 May 2025 09:06:38 UTC', 'x'), 1747472798);
  assert.equal(parseReleaseDate('Sat, 17 May 2025 11:06:38 +0200', 'x'), 1747472798);
});
