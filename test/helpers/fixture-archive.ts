// Generates a small, real, signed Debian archive for hermetic tests: pool/ with .debs made by
// make-deb, dists/SUITE/main/binary-ARCH/Packages{,.gz,.xz} with by-hash copies, a Release
// listing their SHA256, and InRelease clearsigned with the committed test key at a fixed
// date (Ed25519 signatures are deterministic once openpgp.js's random salt notation is off,
// so the whole archive is byte-stable).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { controlStanza, gzip9, makeDeb, type FixturePackage } from './make-deb.js';

export const KEYS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'keys');

export interface SuiteFixture {
  suite: string;
  codename?: string;
  packages: FixturePackage[];
  architectures?: string[];
  date?: string;
  validUntil?: string;
  signWith?: 'archive' | 'stranger';
  acquireByHash?: boolean;
  /** Which Packages files to publish (default all three). Without xz the archive's bytes do not
   * depend on the host's xz version: golden digests use ['plain', 'gz']. */
  indexes?: Array<'plain' | 'gz' | 'xz'>;
}

export interface BuiltArchive {
  root: string;
  /** The public key that verifies it (armored). */
  keyring: string;
  strangerKeyring: string;
  debs: Map<string, { filename: string; sha256: string; size: number; path: string }>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function poolPath(p: FixturePackage): string {
  const source = p.source?.split(' ')[0] ?? p.name;
  const dir = source.startsWith('lib') ? source.slice(0, 4) : source[0]!;
  const version = p.version.replace(/^[0-9]+:/, '');
  return `pool/main/${dir}/${source}/${p.name}_${version}_${p.architecture ?? 'amd64'}.deb`;
}

export async function signClearText(text: string, key: 'archive' | 'stranger', date = new Date('2022-01-01T00:00:00Z')): Promise<string> {
  const armored = await readFile(join(KEYS_DIR, `${key}.private.asc`), 'utf8');
  const privateKey = await openpgp.readPrivateKey({ armoredKey: armored });
  const message = await openpgp.createCleartextMessage({ text });
  // openpgp.js salts v4 signatures with a random notation by default; without it an Ed25519
  // signature is a function of the key, the text and the date, so the archive is byte-stable.
  return openpgp.sign({ message, signingKeys: privateKey, date, format: 'armored', config: { nonDeterministicSignaturesViaNotation: false } }) as Promise<string>;
}

export async function buildSuite(root: string, fixture: SuiteFixture, debs: BuiltArchive['debs']): Promise<void> {
  const archs = fixture.architectures ?? ['amd64'];
  const stanzas = new Map<string, string[]>(archs.map((a) => [a, []]));
  for (const p of fixture.packages) {
    const built = await makeDeb(p);
    const filename = poolPath(p);
    const path = join(root, filename);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, built.bytes);
    const hash = sha256(built.bytes);
    debs.set(`${p.name}_${p.version}_${p.architecture ?? 'amd64'}`, { filename, sha256: hash, size: built.bytes.length, path });
    const stanza = `${controlStanza(p, built.installedSize)}Filename: ${filename}\nSize: ${built.bytes.length}\nSHA256: ${hash}\n`;
    for (const a of archs) if ((p.architecture ?? 'amd64') === a || p.architecture === 'all') stanzas.get(a)!.push(stanza);
  }
  const dist = join(root, 'dists', fixture.suite);
  const listed: Array<[string, Buffer]> = [];
  for (const a of archs) {
    const text = Buffer.from(stanzas.get(a)!.join('\n'));
    const dir = `main/binary-${a}`;
    const wanted = fixture.indexes ?? ['plain', 'gz', 'xz'];
    const files: Array<[string, Buffer]> = [];
    if (wanted.includes('plain')) files.push([`${dir}/Packages`, text]);
    if (wanted.includes('gz')) files.push([`${dir}/Packages.gz`, gzip9(text)]);
    if (wanted.includes('xz')) {
      const xz = spawnSync('xz', ['-c', '-6', '--threads=1'], { input: text });
      if (xz.status !== 0) throw new Error('xz is needed to build the fixture archive');
      files.push([`${dir}/Packages.xz`, xz.stdout]);
    }
    for (const [name, body] of files) {
      await mkdir(dirname(join(dist, name)), { recursive: true });
      await writeFile(join(dist, name), body);
      if (fixture.acquireByHash !== false) {
        await mkdir(join(dist, dir, 'by-hash', 'SHA256'), { recursive: true });
        await writeFile(join(dist, dir, 'by-hash', 'SHA256', sha256(body)), body);
      }
      listed.push([name, body]);
    }
  }
  const release = [
    'Origin: Strata-Test',
    'Label: Strata-Test',
    `Suite: ${fixture.suite}`,
    `Codename: ${fixture.codename ?? fixture.suite}`,
    'Version: 1.0',
    `Date: ${fixture.date ?? 'Sat, 01 Jan 2022 00:00:00 UTC'}`,
    ...(fixture.validUntil !== undefined ? [`Valid-Until: ${fixture.validUntil}`] : []),
    ...(fixture.acquireByHash !== false ? ['Acquire-By-Hash: yes'] : []),
    `Architectures: ${archs.join(' ')}`,
    'Components: main',
    'Description: strata hermetic test archive',
    'SHA256:',
    ...listed.map(([name, body]) => ` ${sha256(body)} ${String(body.length).padStart(8)} ${name}`),
  ].join('\n');
  await writeFile(join(dist, 'Release'), `${release}\n`);
  await writeFile(join(dist, 'InRelease'), await signClearText(`${release}\n`, fixture.signWith ?? 'archive'));
}

export async function buildFixtureArchive(root: string, suites: SuiteFixture[]): Promise<BuiltArchive> {
  const debs: BuiltArchive['debs'] = new Map();
  for (const s of suites) await buildSuite(root, s, debs);
  return { root, keyring: join(KEYS_DIR, 'archive.public.asc'), strangerKeyring: join(KEYS_DIR, 'stranger.public.asc'), debs };
}
