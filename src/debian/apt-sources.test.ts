import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStrataError } from '../errors.js';
import { parseDeb822Sources, parseOneLineSources, readHostAptSources } from './apt-sources.js';

const FPR = '0123456789ABCDEF0123456789ABCDEF01234567';

test('deb822: one entry per URI and suite, with components, architectures and a keyring file', () => {
  const text = `# Debian
Types: deb deb-src
URIs: http://mirror.example/debian http://other.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Architectures: amd64 arm64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;
  const sources = parseDeb822Sources(text, 'debian.sources');
  assert.deepEqual(
    sources.map((s) => `${s.uri} ${s.suite}`),
    [
      'http://mirror.example/debian bookworm',
      'http://mirror.example/debian bookworm-updates',
      'http://other.example/debian bookworm',
      'http://other.example/debian bookworm-updates',
    ],
  );
  assert.deepEqual(sources[0], {
    uri: 'http://mirror.example/debian',
    suite: 'bookworm',
    components: ['main', 'contrib'],
    architectures: ['amd64', 'arm64'],
    signedBy: { kind: 'files', paths: ['/usr/share/keyrings/debian-archive-keyring.gpg'] },
    origin: 'debian.sources stanza 1',
  });
});

test('deb822: Enabled: no, deb-src only and comments are skipped', () => {
  const text = `Types: deb
URIs: http://a.example/debian
Suites: bookworm
Enabled: No

# source packages only
Types: deb-src
URIs: http://b.example/debian
Suites: bookworm

Types: deb
# a comment inside a stanza
URIs: http://c.example/debian
Suites: bookworm
Components: main
`;
  const sources = parseDeb822Sources(text, 'x.sources');
  assert.deepEqual(
    sources.map((s) => [s.uri, s.origin, s.signedBy, s.architectures]),
    [['http://c.example/debian', 'x.sources stanza 3', undefined, undefined]],
  );
});

test('deb822: an inline key block keeps its lines, with " ." as an empty line', () => {
  const text = `Types: deb
URIs: http://a.example/debian
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mDMEZAAAABYJKwYBBAHaRw8BAQdA
 =AbCd
 -----END PGP PUBLIC KEY BLOCK-----
`;
  const [source] = parseDeb822Sources(text, 'x.sources');
  assert.deepEqual(source!.signedBy, {
    kind: 'inline',
    armored: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZAAAABYJKwYBBAHaRw8BAQdA\n=AbCd\n-----END PGP PUBLIC KEY BLOCK-----\n',
  });
});

test('deb822: Signed-By fingerprints, with "!" and lower case', () => {
  const text = `Types: deb\nURIs: http://a.example/debian\nSuites: bookworm\nSigned-By: ${FPR.toLowerCase()}!, 89ABCDEF01234567\n`;
  assert.deepEqual(parseDeb822Sources(text, 'x.sources')[0]!.signedBy, { kind: 'fingerprints', fingerprints: [FPR, '89ABCDEF01234567'] });
});

test('deb822: a stanza without URIs or Suites is an error naming the file; bad syntax names the line', () => {
  assert.throws(
    () => parseDeb822Sources('Types: deb\nSuites: bookworm\n', 'x.sources'),
    (e: unknown) => isStrataError(e, 'APT_SOURCES_INVALID') && e.message === 'x.sources: stanza 1 has no URIs or no Suites',
  );
  assert.throws(
    () => parseDeb822Sources('Types: deb\nURIs: http://a.example\nbogus\n', 'x.sources'),
    (e: unknown) => isStrataError(e, 'APT_SOURCES_INVALID') && /^x\.sources line 3: /.test(e.message),
  );
});

test('one-line: options, components, comments; deb-src ignored', () => {
  const text = `# main archive
deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/k.gpg] http://a.example/debian bookworm main contrib # trailing
deb-src http://a.example/debian bookworm main

deb [ trusted=yes signed-by=${FPR} ] http://b.example/debian bookworm-updates
deb http://c.example/flat ./
`;
  assert.deepEqual(parseOneLineSources(text, 'sources.list'), [
    {
      uri: 'http://a.example/debian',
      suite: 'bookworm',
      components: ['main', 'contrib'],
      architectures: ['amd64', 'arm64'],
      signedBy: { kind: 'files', paths: ['/usr/share/keyrings/k.gpg'] },
      origin: 'sources.list line 2',
    },
    {
      uri: 'http://b.example/debian',
      suite: 'bookworm-updates',
      components: [],
      signedBy: { kind: 'fingerprints', fingerprints: [FPR] },
      origin: 'sources.list line 5',
    },
    { uri: 'http://c.example/flat', suite: './', components: [], origin: 'sources.list line 6' },
  ]);
});

test('one-line: malformed lines are errors naming file and line', () => {
  for (const [text, line] of [['deb http://a.example/debian', 1], ['\n\ndeb-src', 3], ['\ndebx http://a bookworm main', 2]] as const) {
    assert.throws(
      () => parseOneLineSources(text, 'sources.list'),
      (e: unknown) => isStrataError(e, 'APT_SOURCES_INVALID') && e.message.startsWith(`sources.list line ${line}: cannot parse `),
      text,
    );
  }
});

test('readHostAptSources reads sources.list then *.list and *.sources in name order, ignoring other files', async () => {
  const root = await mkdtemp(join(tmpdir(), 'strata-apt-'));
  try {
    await mkdir(join(root, 'sources.list.d'));
    await writeFile(join(root, 'sources.list'), 'deb http://one.example/debian bookworm main\n');
    await writeFile(join(root, 'sources.list.d', 'b.sources'), 'Types: deb\nURIs: http://three.example/debian\nSuites: bookworm\n');
    await writeFile(join(root, 'sources.list.d', 'a.list'), 'deb http://two.example/debian bookworm main\n');
    await writeFile(join(root, 'sources.list.d', 'c.list.save'), 'deb http://ignored.example/debian bookworm main\n');
    await writeFile(join(root, 'sources.list.d', 'd.sources.disabled'), 'garbage\n');
    const sources = await readHostAptSources(root);
    assert.deepEqual(
      sources.map((s) => s.uri),
      ['http://one.example/debian', 'http://two.example/debian', 'http://three.example/debian'],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
