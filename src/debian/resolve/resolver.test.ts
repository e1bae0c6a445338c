import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackageIndex } from '../index-store.js';
import type { PackageRecord } from '../package-index.js';
import { Universe } from '../universe.js';
import { resolve, type Resolution } from './resolver.js';

function pkg(name: string, fields: Partial<PackageRecord> = {}): PackageRecord {
  return {
    name,
    version: '1.0-1',
    architecture: 'amd64',
    multiArch: 'no',
    essential: false,
    priority: 'optional',
    section: 'misc',
    source: name,
    sourceVersion: fields.version ?? '1.0-1',
    depends: '',
    preDepends: '',
    recommends: '',
    suggests: '',
    provides: '',
    conflicts: '',
    breaks: '',
    replaces: '',
    filename: `pool/main/${name}_1.0-1_amd64.deb`,
    size: 1000,
    sha256: '0'.repeat(64),
    installedSize: 1,
    ...fields,
  };
}

function solve(records: PackageRecord[], requests: string[], excluded: Array<[string, string]> = []): Resolution {
  const universe = new Universe('amd64', [{ suite: 'test', component: 'main', index: PackageIndex.fromRecords(records) }], ['test']);
  return resolve({
    universe,
    requests: requests.map((name) => ({ name, text: name })),
    recommends: false,
    excluded: new Map(excluded),
  });
}

const names = (r: Resolution) => r.packages.map((p) => p.candidate.record.name);
const depends = (r: Resolution, name: string) => r.packages.find((p) => p.candidate.record.name === name)?.depends;

// phpmyadmin in bookworm: Depends: php-cli, …, php-json. php-cli → php8.2-cli, which
// Provides php-json; php-json is also a real package. Processing clauses first-in first-out
// met `php-json` before php8.2-cli was selected, so the real php-json (and what it needs)
// came in too, although php8.2-cli meets the clause: one package more than apt installs.
test('a package whose clause a later selection meets is pruned (real name also provided)', () => {
  const r = solve(
    [
      pkg('app', { depends: 'meta, vjson' }),
      pkg('meta', { depends: 'impl' }),
      pkg('impl', { provides: 'vjson' }),
      pkg('vjson', { depends: 'libjson' }),
      pkg('libjson'),
    ],
    ['app'],
  );
  assert.deepEqual(names(r), ['app', 'impl', 'meta']);
  assert.deepEqual(depends(r, 'app'), ['impl', 'meta']);
  assert.deepEqual(r.packages.find((p) => p.candidate.record.name === 'impl')?.via, { from: 'meta', clause: 'impl' });
});

test('an alternative chosen first is pruned when another alternative is needed anyway', () => {
  const r = solve(
    [
      pkg('app', { depends: 'alt-a | alt-b, tool' }),
      pkg('alt-a', { depends: 'lib-a' }),
      pkg('lib-a'),
      pkg('alt-b'),
      pkg('tool', { depends: 'alt-b' }),
    ],
    ['app'],
  );
  assert.deepEqual(names(r), ['alt-b', 'app', 'tool']);
  assert.deepEqual(depends(r, 'app'), ['alt-b', 'tool']);
});

test('a choice nothing else settles keeps the solver\'s preference', () => {
  const r = solve([pkg('app', { depends: 'alt-a | alt-b' }), pkg('alt-a'), pkg('alt-b')], ['app']);
  assert.deepEqual(names(r), ['alt-a', 'app']);
});

test('a requested package is kept even when a later selection provides it', () => {
  const r = solve([pkg('app', { depends: 'meta' }), pkg('meta', { depends: 'impl' }), pkg('impl', { provides: 'vjson' }), pkg('vjson')], ['vjson', 'app']);
  assert.deepEqual(names(r), ['app', 'impl', 'meta', 'vjson']);
  assert.equal(r.packages.find((p) => p.candidate.record.name === 'vjson')?.requested, true);
});

test('a left-out package is recorded only for kept packages, and dropped when a kept package meets the clause', () => {
  const r = solve(
    [
      pkg('app', { depends: 'helper, tool' }),
      pkg('helper', { depends: 'debconf | debconf-2.0' }),
      pkg('tool', { depends: 'cdebconf' }),
      pkg('cdebconf', { provides: 'debconf-2.0' }),
      pkg('debconf'),
    ],
    ['app'],
    [['debconf', 'maintainer scripts only']],
  );
  // helper's clause is first met by leaving debconf out; tool then brings in cdebconf, which
  // provides debconf-2.0, so the clause is met inside the closure and nothing is left out.
  assert.deepEqual(names(r), ['app', 'cdebconf', 'helper', 'tool']);
  assert.deepEqual(r.excluded, []);
  assert.deepEqual(depends(r, 'helper'), ['cdebconf']);

  const r2 = solve(
    [pkg('app', { depends: 'helper' }), pkg('helper', { depends: 'debconf | debconf-2.0' }), pkg('debconf')],
    ['app'],
    [['debconf', 'maintainer scripts only']],
  );
  assert.deepEqual(names(r2), ['app', 'helper']);
  assert.deepEqual(r2.excluded, [{ name: 'debconf', reason: 'maintainer scripts only', requiredBy: ['helper'] }]);
});
