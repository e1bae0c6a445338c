import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { parseSpec, specTextSha256 } from './parse-spec.js';
import { DEFAULT_LAYER_BUDGET } from './spec.js';

const FULL = `source:
  mirror: http://mirror.example/debian
  suites: [bookworm, bookworm-updates]
  components: [main]
  keyring: keys/archive.gpg
  fallbacks: [http://snapshot.example/archive/debian/20250101T000000Z, {url: ./vendor, layout: pool}]
architectures: [amd64, arm64]
packages: [redis-server, "python3 (>= 3.11)"]
accounts:
  groups: [{name: redis, gid: 999}]
  users:  [{name: redis, uid: 999, gid: 999, home: /var/lib/redis, shell: /usr/sbin/nologin}]
  run-as: redis
entrypoint: [/usr/bin/redis-server]
cmd: []
env: {LANG: C.UTF-8}
workdir: /data
paths: [{path: /data, type: directory, uid: 999, gid: 999, mode: "0755"}]
profile: slim
layers: {budget: 100}
annotations: {org.opencontainers.image.title: redis}
`;

test('parses the full example spec', () => {
  assert.deepEqual(parseSpec(FULL, 'redis.yaml'), {
    source: {
      mirror: 'http://mirror.example/debian',
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      keyring: 'keys/archive.gpg',
      fallbacks: [
        { url: 'http://snapshot.example/archive/debian/20250101T000000Z', layout: 'pool' },
        { url: './vendor', layout: 'pool' },
      ],
    },
    architectures: ['amd64', 'arm64'],
    packages: [
      { name: 'redis-server', text: 'redis-server' },
      { name: 'python3', text: 'python3 (>= 3.11)', op: '>=', version: '3.11' },
    ],
    exclude: [],
    recommends: false,
    accounts: {
      groups: [{ name: 'redis', gid: 999 }],
      users: [{ name: 'redis', uid: 999, gid: 999, home: '/var/lib/redis', shell: '/usr/sbin/nologin' }],
      runAs: 'redis',
    },
    entrypoint: ['/usr/bin/redis-server'],
    cmd: [],
    env: { LANG: 'C.UTF-8' },
    workdir: '/data',
    paths: [{ path: '/data', type: 'directory', uid: 999, gid: 999, mode: 0o755 }],
    profile: 'slim',
    layers: { budget: 100 },
    annotations: { 'org.opencontainers.image.title': 'redis' },
  });
});

test('a minimal spec gets the documented defaults', () => {
  const spec = parseSpec('packages: [hello]\n', 'min.yaml');
  assert.deepEqual(spec.architectures, ['amd64']);
  assert.equal(spec.profile, 'slim');
  assert.equal(spec.layers.budget, DEFAULT_LAYER_BUDGET);
  assert.deepEqual(spec.source, { fallbacks: [] });
  assert.equal(spec.entrypoint, undefined);
});

test('package requests: suite, constraint, or both', () => {
  const spec = parseSpec('packages:\n  - redis-server/bookworm-backports\n  - "python3 (>= 3.11)"\n  - "libc6/bookworm (<< 2.37)"\n', 's.yaml');
  assert.deepEqual(spec.packages, [
    { name: 'redis-server', suite: 'bookworm-backports', text: 'redis-server/bookworm-backports' },
    { name: 'python3', op: '>=', version: '3.11', text: 'python3 (>= 3.11)' },
    { name: 'libc6', suite: 'bookworm', op: '<<', version: '2.37', text: 'libc6/bookworm (<< 2.37)' },
  ]);
});

/** Asserts a SPEC_INVALID error whose message is `spec.yaml:LINE: PATH: ...` and matches `rest`. */
function fails(text: string, line: number, path: string, rest: RegExp): void {
  assert.throws(
    () => parseSpec(text, 'spec.yaml'),
    (e: unknown) => {
      assert.ok(isStrataError(e, 'SPEC_INVALID'), String(e));
      const prefix = `spec.yaml:${line}: ${path}: `;
      assert.ok(e.message.startsWith(prefix), `${JSON.stringify(e.message)} should start with ${JSON.stringify(prefix)}`);
      assert.match(e.message.slice(prefix.length), rest);
      return true;
    },
  );
}

test('unknown fields are refused with the closest known name', () => {
  fails('packages: [a0]\npakages: [b0]\n', 2, 'pakages', /^unknown field \(did you mean "packages"\?\); known: source, /);
  fails('packages: [a0]\naccounts:\n  users:\n    - {name: u, uid: 1, gid: 1, shel: /bin/sh}\n', 4, 'accounts.users[0].shel', /did you mean "shell"/);
  fails('packages: [a0]\nzzzzzzzz: 1\n', 2, 'zzzzzzzz', /^unknown field; known: /);
});

test('accounts: uid and gid clashes, undeclared run-as', () => {
  const users = 'packages: [a0]\naccounts:\n  users:\n    - {name: alice, uid: 1000, gid: 1000}\n    - {name: bob, uid: 1000, gid: 1000}\n';
  fails(users, 5, 'accounts.users[1]', /^uid 1000 is already used by user alice$/);
  fails('packages: [a0]\naccounts:\n  groups:\n    - {name: a, gid: 7}\n    - {name: b, gid: 7}\n', 5, 'accounts.groups[1]', /^gid 7 is already used by group a$/);
  fails('packages: [a0]\naccounts:\n  users: [{name: alice, uid: 1, gid: 1}]\n  run-as: bob\n', 4, 'accounts.run-as', /"bob" is not a declared user/);
  fails('packages: [a0]\naccounts:\n  users: [{name: alice, uid: 1}]\n', 3, 'accounts.users[0]', /^missing gid/);
  for (const runAs of ['1000', '"1000:1000"', 'root']) {
    assert.equal(parseSpec(`packages: [a0]\naccounts:\n  run-as: ${runAs}\n`, 's').accounts.runAs, runAs.replace(/"/g, ''));
  }
});

test('paths: modes are quoted octal strings; paths are absolute without . or ..', () => {
  fails('packages: [a0]\npaths:\n  - {path: /data, mode: 0755}\n', 3, 'paths[0].mode', /quoted string/);
  fails('packages: [a0]\npaths:\n  - {path: /data, mode: "0855"}\n', 3, 'paths[0].mode', /octal mode/);
  fails('packages: [a0]\npaths:\n  - path: data/x\n', 3, 'paths[0].path', /^"data\/x" must be an absolute path/);
  fails('packages: [a0]\nworkdir: data\n', 2, 'workdir', /must be an absolute path/);
  fails('packages: [a0]\nworkdir: /data/../etc\n', 2, 'workdir', /must not contain \. or \.\. components/);
  fails('packages: [a0]\npaths:\n  - {path: /x, type: symlink}\n', 3, 'paths[0]', /needs a target/);
  const [file, link] = parseSpec('packages: [a0]\npaths:\n  - {path: /etc/motd/, type: file, content: hi, mode: "0600"}\n  - {path: /l, type: symlink, target: x}\n', 's').paths;
  assert.deepEqual(file, { path: '/etc/motd', type: 'file', uid: 0, gid: 0, mode: 0o600, content: 'hi' });
  assert.deepEqual(link, { path: '/l', type: 'symlink', uid: 0, gid: 0, mode: 0o777, target: 'x' });
});

test('packages: duplicates, bad requests, missing list', () => {
  fails('packages:\n  - redis-server\n  - redis-server/bookworm-backports\n', 3, 'packages[1]', /^redis-server is already requested at packages\[0\]$/);
  fails('packages: ["python3 (> 3.11)"]\n', 1, 'packages[0]', /^cannot read "python3 \(> 3\.11\)"/);
  fails('packages: ["python3 (>= 3.11-)"]\n', 1, 'packages[0]', /"3\.11-" is not a valid Debian version/);
  fails('packages: [Redis]\n', 1, 'packages[0]', /"Redis" is not a valid Debian package name/);
  fails('packages: []\n', 1, 'packages', /at least one package/);
  fails('architectures: [amd64]\n', 1, 'packages', /^missing/);
});

test('other fields: architectures, URLs, env names, budget', () => {
  fails('packages: [a0]\narchitectures: [amd64, x86]\n', 2, 'architectures[1]', /unknown architecture "x86"/);
  fails('source:\n  mirror: http://x.example/debian\npackages: [a0]\n', 2, 'source.suites', /name the suites too/);
  fails('source:\n  mirror: ftp://x.example/debian\n  suites: [bookworm]\npackages: [a0]\n', 2, 'source.mirror', /^unsupported URL scheme ftp:$/);
  fails('source:\n  mirror: not a url\n  suites: [bookworm]\npackages: [a0]\n', 2, 'source.mirror', /^"not a url" is not a URL$/);
  fails('packages: [a0]\nsource:\n  fallbacks: [{url: ./v, layout: tree}]\n', 3, 'source.fallbacks[0].layout', /pool or flat/);
  fails('packages: [a0]\nenv:\n  A: "1"\n  1B: x\n', 4, 'env.1B', /not a valid environment variable name/);
  fails('packages: [a0]\nlayers: {budget: 0}\n', 2, 'layers.budget', /between 3 and 120, not 0/);
  fails('packages: [a0]\nlayers: {budget: 2}\n', 2, 'layers.budget', /between 3 and 120, not 2: an image has at least 3 layers/);
  fails('packages: [a0]\nlayers: {budget: 121}\n', 2, 'layers.budget', /between 3 and 120, not 121/);
  fails('packages: [a0]\nprofile: tiny\n', 2, 'profile', /slim or full/);
});

test('YAML syntax errors name the line', () => {
  const cases = [
    ['packages: [a0]\npackages: [b0]\n', 2],
    ['cmd: []\npackages: [a0\nworkdir: /x\n', 3],
    ['packages: [a0]\n\tcmd: []\n', 2],
  ] as const;
  for (const [text, line] of cases) {
    assert.throws(
      () => parseSpec(text, 'spec.yaml'),
      (e: unknown) => isStrataError(e, 'SPEC_INVALID') && e.message.startsWith(`spec.yaml:${line}: not valid YAML: `) && e.detail?.line === line,
      JSON.stringify(text),
    );
  }
  assert.throws(() => parseSpec('', 'spec.yaml'), /^StrataError: spec\.yaml: the spec is empty/);
});

test('error details carry file, line and field', () => {
  try {
    parseSpec('packages: [a0]\nworkdir: data\n', 'dir/spec.yaml');
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isStrataError(e));
    assert.deepEqual(e.detail, { file: 'dir/spec.yaml', line: 2, field: 'workdir' });
  }
});

test('specTextSha256 ignores line-ending style only', () => {
  assert.equal(specTextSha256('a\r\nb\rc\n'), specTextSha256('a\nb\nc\n'));
  assert.notEqual(specTextSha256('a\nb\n'), specTextSha256('a\nb'));
});

test('env and annotation values that YAML reads as numbers or booleans are refused, not rewritten', () => {
  assert.throws(() => parseSpec('packages: [xx]\nenv:\n  PYTHON_VERSION: 3.10\n', 'n.yaml'), /n\.yaml:3: env\.PYTHON_VERSION: YAML reads 3\.10 as the number 3\.1; quote it \("3\.10"\)/);
  assert.throws(() => parseSpec('packages: [xx]\nannotations:\n  x: 0x10\n', 'n.yaml'), /annotations\.x: YAML reads 0x10 as the number 16/);
  assert.throws(() => parseSpec('packages: [xx]\nenv:\n  DEBUG: true\n', 'n.yaml'), /env\.DEBUG: YAML reads true as the boolean true/);
  assert.deepEqual(parseSpec('packages: [xx]\nenv:\n  V: "3.10"\n', 'n.yaml').env, { V: '3.10' });
});

test('a directory can be marked as a volume; other types cannot', () => {
  const spec = parseSpec('packages: [xx]\npaths: [{path: /data, type: directory, volume: true}, {path: /app}]\n', 'v.yaml');
  assert.equal(spec.paths[0]!.volume, true);
  assert.equal(spec.paths[1]!.volume, undefined);
  assert.throws(() => parseSpec('packages: [xx]\npaths: [{path: /f, type: file, volume: true}]\n', 'v.yaml'), /v\.yaml:2: paths\[0\]\.volume: only a directory can be a volume/);
});
