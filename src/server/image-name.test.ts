import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalName, decodePackageName, encodePackageName, parseImageName, requestedPackages } from './image-name.js';
import { isStrataError } from '../errors.js';

const OCI_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

test('escaping: every Debian name becomes a valid OCI component and decodes back', () => {
  const names = ['libstdc++6', 'g++', 'c++-annotations', 'aewm++-goodies', 'libarpack++2c2a', 'redis-server', 'python3.11', 'a..b', 'foo.', 'foo-', 'x-+', 'x.+y', 'x--y', 'x.-y', 'x-.y', 'ab', '0ad', 'libc6', 'g++-12'];
  for (const n of names) {
    const e = encodePackageName(n);
    assert.match(e, OCI_COMPONENT, `${n} → ${e}`);
    assert.equal(decodePackageName(e), n, `${n} → ${e} → back`);
  }
  assert.equal(encodePackageName('libstdc++6'), 'libstdc_p_p6');
  assert.equal(encodePackageName('g++'), 'g_p_p');
  assert.equal(encodePackageName('python3.11'), 'python3.11', 'plain where OCI allows it');
  assert.equal(decodePackageName('python3_d11'), 'python3.11', 'either spelling decodes');
  assert.equal(decodePackageName('foo_x'), undefined, 'unknown escape');
  assert.equal(decodePackageName('a'), undefined, 'Debian names have two characters at least');
});

test('the packages are a set: order and repetition do not change the canonical name', () => {
  const a = parseImageName('python3/python3-requests');
  const b = parseImageName('python3-requests/python3/python3');
  assert.deepEqual(a, b);
  assert.equal(canonicalName(a, 'amd64'), 'amd64/python3/python3-requests');
  assert.equal(canonicalName(parseImageName('amd64/python3-requests/python3'), 'amd64'), 'amd64/python3/python3-requests');
});

test('meta-components: shell, nonroot, an architecture prefix, spec/NAME', () => {
  const r = parseImageName('arm64/git/nonroot/shell/bash');
  assert.deepEqual(r, { architecture: 'arm64', shell: true, nonroot: true, packages: ['git'] });
  assert.deepEqual(requestedPackages(r), ['bash', 'coreutils', 'git']);
  assert.equal(canonicalName(r, 'amd64'), 'arm64/nonroot/shell/git');
  assert.deepEqual(parseImageName('shell'), { shell: true, nonroot: false, packages: [] });
  assert.deepEqual(parseImageName('spec/my-app'), { spec: 'my-app', shell: false, nonroot: false, packages: [] });
  assert.equal(canonicalName(parseImageName('spec/my-app'), 'amd64'), 'spec/my-app');
  assert.deepEqual(parseImageName('libstdc_p_p6/g_p_p').packages, ['g++', 'libstdc++6']);
});

test('malformed names are NAME_INVALID with a message that says what to write', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Redis', /lower-case/],
    ['redis-server/', /component 2/],
    ['../etc/passwd', /component 1/],
    ['a/../b', /component 2/],
    ['libstdc++6', /_p/],
    ['foo%2e%2e', /component 1/],
    ['nonroot', /no package/],
    ['amd64', /no package/],
    ['redis-server/arm64', /must come first/],
    ['spec/a/b', /spec\/NAME/],
    ['arm64/spec/a', /drop the architecture/],
    ['redis/spec', /must come first/],
    ['x', /not a Debian package name/],
    ['foo_q', /not a Debian package name/],
    [`a${'/bb'.repeat(100)}`, /limit is 255/],
  ];
  for (const [name, why] of bad) {
    assert.throws(() => parseImageName(name), (e: unknown) => isStrataError(e, 'NAME_INVALID') && why.test(e.message), `${JSON.stringify(name)} should be refused with ${why}`);
  }
});
