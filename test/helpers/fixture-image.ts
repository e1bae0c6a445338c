// A small real image for registry tests: the hermetic test archive (signed, served on
// 127.0.0.1), a spec of fixapp from it, locked and built with the real CLI into an OCI
// layout. Built once per test file.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildFixtureArchive } from './fixture-archive.js';
import { serveDirectory, type ArchiveServer } from './archive-server.js';
import { MAIN_PACKAGES, UPDATES_PACKAGES } from './fixture-world.js';
import { runCli } from './cli.js';

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
  ]);
  const server = await serveDirectory(root);
  const spec = join(work, 'fixapp.yaml');
  await writeFile(
    spec,
    [
      `source:\n  mirror: ${server.url}\n  suites: [fixture, fixture-updates]\n  keyring: ${archive.keyring}`,
      'packages: [fixapp, fixxz]',
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
