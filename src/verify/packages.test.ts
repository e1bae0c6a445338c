import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffPackages, ownersOfDatabase, packagesOfDatabase } from './packages.js';

test("dpkg's classic status file: installed stanzas only, Source with its version", () => {
  const status = [
    'Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2+b1\n',
    'Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n',
    'Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u5\n',
  ].join('\n');
  assert.deepEqual(packagesOfDatabase(new Map([['var/lib/dpkg/status', status]])), [
    { name: 'base-files', version: '12.4+deb12u5', architecture: 'amd64', source: 'base-files', sourceVersion: '12.4+deb12u5' },
    { name: 'libssl3', version: '3.0.11-1~deb12u2+b1', architecture: 'amd64', source: 'openssl', sourceVersion: '3.0.11-1~deb12u2' },
  ]);
});

test("strata's status.d: one stanza per file; md5sums name owners through merged /usr; dpkg's .list too", () => {
  const db = new Map([
    ['var/lib/dpkg/status.d/libfix6', 'Package: libfix6\nVersion: 2.1-1\nArchitecture: amd64\n'],
    ['var/lib/dpkg/status.d/libfix6.md5sums', 'd41d8cd98f00b204e9800998ecf8427e  lib/x86_64-linux-gnu/libfix.so.6\n'],
    ['var/lib/dpkg/info/bash.list', '/.\n/bin\n/bin/bash\n'],
  ]);
  assert.deepEqual(packagesOfDatabase(db).map((p) => [p.name, p.version]), [['libfix6', '2.1-1']]);
  const owners = ownersOfDatabase(db);
  assert.equal(owners.get('usr/lib/x86_64-linux-gnu/libfix.so.6'), 'libfix6');
  assert.equal(owners.get('lib/x86_64-linux-gnu/libfix.so.6'), 'libfix6');
  assert.equal(owners.get('var/lib/dpkg/status.d/libfix6'), 'libfix6');
  assert.equal(owners.get('usr/bin/bash'), 'bash');
});

test("package changes: dpkg's order decides up or down; same version, other .deb: rebuilt", () => {
  const p = (name: string, version: string, sha256?: string) => ({ name, version, architecture: 'amd64', source: name, sourceVersion: version, ...(sha256 ? { sha256 } : {}) });
  assert.deepEqual(
    diffPackages([p('a', '1.0~rc1'), p('b', '2:1.0'), p('c', '1', 'x'), p('gone', '1')], [p('a', '1.0'), p('b', '1:9.9'), p('c', '1', 'y'), p('new', '3')]).map((c) => [c.name, c.kind, c.from, c.to]),
    [
      ['a', 'upgraded', '1.0~rc1', '1.0'],
      ['b', 'downgraded', '2:1.0', '1:9.9'],
      ['c', 'rebuilt', '1', '1'],
      ['gone', 'removed', '1', undefined],
      ['new', 'added', undefined, '3'],
    ],
  );
});
