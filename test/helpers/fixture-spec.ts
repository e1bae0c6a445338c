// A small image spec over the hermetic test archive, locked and ready to build: what the
// verify and diff tests rebuild, doctor and compare. The archive is generated, signed and
// served on 127.0.0.1 by the test itself; the cache is the test's own.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildFixtureArchive, type BuiltArchive } from './fixture-archive.js';
import { serveDirectory, type ArchiveServer } from './archive-server.js';
import { MAIN_PACKAGES, UPDATES_PACKAGES } from './fixture-world.js';
import { runCli, type CliResult } from './cli.js';

export interface FixtureSpecs {
  work: string;
  cache: string;
  archive: BuiltArchive;
  server: ArchiveServer;
  close(): Promise<void>;
}

export async function startFixture(work: string): Promise<FixtureSpecs> {
  const root = join(work, 'archive');
  const archive = await buildFixtureArchive(root, [
    { suite: 'fixture', packages: MAIN_PACKAGES },
    { suite: 'fixture-updates', packages: UPDATES_PACKAGES, validUntil: 'Fri, 01 Jan 2100 00:00:00 UTC' },
  ]);
  const server = await serveDirectory(root);
  const cache = join(work, 'cache');
  await mkdir(cache, { recursive: true });
  return { work, cache, archive, server, close: () => server.close() };
}

/** Writes DIR/NAME.yaml (the fixture's source, then `body`) and locks it; returns the spec path. */
export async function lockedSpec(f: FixtureSpecs, dir: string, name: string, body: string, suites = ['fixture', 'fixture-updates']): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, `source:\n  mirror: ${f.server.url}\n  suites: [${suites.join(', ')}]\n  keyring: ${f.archive.keyring}\n${body}`);
  const r = await runCli(['lock', path, '--cache-dir', f.cache]);
  if (r.code !== 0) throw new Error(`strata lock ${path} failed\n${r.stderr}`);
  return path;
}

export async function cliOk(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const r = await runCli(args, env ? { env } : {});
  if (r.code !== 0) throw new Error(`strata ${args.join(' ')} exited with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}
