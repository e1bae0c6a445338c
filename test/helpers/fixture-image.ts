// A small real image for registry tests: the hermetic test archive (signed, served on
// 127.0.0.1), a spec of fixapp from it, locked and built with the real CLI into an OCI
// layout. Built once per test file.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildFixtureArchive } from './fixture-archive.js';
import { serveDirectory, type ArchiveServer } from './archive-server.js';
import { MAIN_PACKAGES, UPDATES_PACKAGES } from './fixture-world.js';
import { runCli } from './cli.js';
import type { FixturePackage } from './make-deb.js';

/** Packages for the SBOM and scanner tests: DEP-5 copyrights, a doc-directory symlink, os-release. */
export const EXTRA_PACKAGES: FixturePackage[] = [
  {
    name: 'fixlicensed',
    version: '1:2.0-3',
    source: 'fixlicensed-src (2.0-3)',
    depends: 'libfixdoc1',
    files: [
      { path: '/usr/bin/fixlicensed', content: 'licensed\n', mode: 0o755 },
      {
        path: '/usr/share/doc/fixlicensed/copyright',
        content: [
          'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
          'Upstream-Name: fixlicensed',
          '',
          'Files: *',
          'Copyright: 2020 Someone',
          'License: GPL-2+',
          '',
          'Files: lib/*',
          'Copyright: 2021 Someone Else',
          'License: Expat or BSD-3-clause',
          '',
          'Files: contrib/*',
          'Copyright: 2022 A Third',
          'License: Fix-Custom-1',
          '',
          'License: Fix-Custom-1',
          ' Do what you like, but say who wrote it.',
          '',
        ].join('\n'),
      },
    ],
  },
  {
    name: 'libfixdoc1',
    version: '2.0-3',
    source: 'fixlicensed-src (2.0-3)',
    files: [
      { path: '/usr/lib/x86_64-linux-gnu/libfixdoc.so.1', content: 'lib\n' },
      { path: '/usr/share/doc/libfixdoc1', symlink: 'fixlicensed' },
    ],
  },
  {
    name: 'base-files',
    version: '12.4+deb12u5',
    files: [
      { path: '/usr/lib/os-release', content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n' },
      { path: '/etc/os-release', symlink: '../usr/lib/os-release' },
      { path: '/etc/debian_version', content: '12.5\n' },
      { path: '/usr/share/doc/base-files/copyright', content: 'This is the Debian prepackaged version of the Debian Base System\nMiscellaneous files (free-form copyright).\n' },
    ],
  },
];

export interface FixtureImage {
  dir: string;
  spec: string;
  layout: string;
  cacheDir: string;
  server: ArchiveServer;
}

export async function buildFixtureImage(work: string, extraSpec = ''): Promise<FixtureImage> {
  const root = join(work, 'archive');
  const archive = await buildFixtureArchive(root, [
    { suite: 'fixture', packages: MAIN_PACKAGES },
    { suite: 'fixture-updates', packages: UPDATES_PACKAGES, validUntil: 'Fri, 01 Jan 2100 00:00:00 UTC' },
    { suite: 'fixture-extra', packages: EXTRA_PACKAGES },
  ]);
  const server = await serveDirectory(root);
  const spec = join(work, 'fixapp.yaml');
  await writeFile(
    spec,
    [
      `source:\n  mirror: ${server.url}\n  suites: [fixture, fixture-updates, fixture-extra]\n  keyring: ${archive.keyring}`,
      'packages: [fixapp, fixxz, fixlicensed, base-files]',
      'entrypoint: [/usr/bin/fixapp]',
      extraSpec,
    ].join('\n'),
  );
  const cacheDir = join(work, 'cache');
  const layout = join(work, 'fixapp.oci');
  for (const args of [
    ['lock', spec, '--cache-dir', cacheDir],
    ['build', spec, '-o', layout, '--cache-dir', cacheDir, '--workers', '1'],
  ]) {
    const r = await runCli(args);
    if (r.code !== 0) throw new Error(`strata ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  }
  return { dir: work, spec, layout, cacheDir, server };
}
