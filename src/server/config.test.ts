import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseServerConfig } from './config.js';
import { isStrataError } from '../errors.js';

test('a full configuration parses, with paths relative to its folder', () => {
  const c = parseServerConfig(
    [
      'listen: 0.0.0.0:5001',
      'store: store',
      'source:',
      '  mirror: http://mirror.invalid/debian/',
      '  suites: [bookworm]',
      '  keyring: keys/archive.gpg',
      '  fallbacks: [./vendor, {url: "http://snap.invalid/x", layout: flat}]',
      'architectures: [arm64, amd64]',
      'budget: 90',
      'refresh: 30m',
      'specs: {myapp: specs/myapp.yaml}',
      'limits: {packages: 8, closure-size: 512 MiB, build-timeout: 90s, builds: 3, queue: 0, header-size: 8 KiB}',
    ].join('\n'),
    'serve.yaml',
    '/srv/strata',
  );
  assert.equal(c.listen, '0.0.0.0:5001');
  assert.equal(c.store, '/srv/strata/store');
  assert.deepEqual(c.source, { mirror: 'http://mirror.invalid/debian', suites: ['bookworm'], keyring: '/srv/strata/keys/archive.gpg', fallbacks: [{ url: '/srv/strata/vendor', layout: 'pool' }, { url: 'http://snap.invalid/x', layout: 'flat' }] });
  assert.deepEqual(c.architectures, ['arm64', 'amd64']);
  assert.equal(c.budget, 90);
  assert.equal(c.refreshSeconds, 1800);
  assert.deepEqual(c.specs, { myapp: '/srv/strata/specs/myapp.yaml' });
  assert.deepEqual({ ...c.limits }, { packages: 8, closurePackages: 600, closureBytes: 512 * 1024 ** 2, buildTimeoutMs: 90_000, builds: 3, queue: 0, headerBytes: 8192, bodyBytes: 0 });
});

test('mistakes are CONFIG_INVALID naming the line and the field', () => {
  const cases: Array<[string, RegExp]> = [
    ['listen: 127.0.0.1:5000\nlimts: {}', /serve\.yaml:2: limts: unknown field \(did you mean "limits"\?\)/],
    ['listen: localhost', /listen: "localhost" is not host:port/],
    ['architectures: [amd64, sparc]', /unknown architecture "sparc"/],
    ['source: {mirror: http://x.invalid}', /with source\.mirror, name the suites too/],
    ['limits: {builds: 0}', /limits\.builds: expected an integer of at least 1/],
    ['refresh: soon', /refresh: expected a duration/],
    ['specs: {My_App: x.yaml}', /a spec name is lower-case/],
    ['budget: 200', /budget: must be at most 120/],
    ['limits: {header-size: 100}', /at least 1 KiB/],
    ['[unclosed', /not valid YAML/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseServerConfig(text, 'serve.yaml', '/x'), (e: unknown) => isStrataError(e, 'CONFIG_INVALID') && re.test(e.message), text);
  }
  assert.deepEqual(parseServerConfig('', 'empty.yaml', '/x').architectures, ['amd64']);
});

test('durations', () => {
  assert.equal(parseDuration('300'), 300);
  assert.equal(parseDuration('1.5h'), 5400);
  assert.equal(parseDuration('250ms'), 0.25);
  assert.equal(parseDuration('1d'), 86400);
  assert.equal(parseDuration('5 minutes'), undefined);
});
