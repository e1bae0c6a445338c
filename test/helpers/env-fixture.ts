// A hermetic archive for the environment tests, with packages that really run: `libc6`,
// `libtinfo6` and `bash` carry this machine's own bash and the libraries `ldd` names for it
// (so the environment's bash is the host's, in a sandbox), and `fixtool` is a bash script
// with no dependencies, so that a shell of it gets bash added. The archive is signed with
// the test key and served on 127.0.0.1; an apt configuration directory (STRATA_APT_ETC)
// names it as this "host's" only source, which is what ad-hoc environments resolve against.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildFixtureArchive, type BuiltArchive } from './fixture-archive.js';
import { serveDirectory, type ArchiveServer } from './archive-server.js';
import type { FixturePackage } from './make-deb.js';

export interface EnvArchive {
  root: string;
  archive: BuiltArchive;
  server: ArchiveServer;
  /** An apt configuration directory whose only source is the fixture archive. */
  aptEtc: string;
  /** Rebuilds the archive with fixtool at another version (what `--update` should pick up). */
  publishFixtool(version: string): Promise<void>;
}

/** The shared libraries and loader that `ldd` lists for a program of this machine. */
function libraries(program: string): string[] {
  const r = spawnSync('ldd', [program], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ldd ${program} failed: ${r.stderr}`);
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (m !== null) out.push(m[1]!);
  }
  return out;
}

export async function hostShellPackages(fixtoolVersion = '1.0'): Promise<FixturePackage[]> {
  const bash = '/bin/bash';
  const libs = libraries(bash);
  const tinfo = libs.filter((l) => /libtinfo/.test(l));
  const libc = libs.filter((l) => !/libtinfo/.test(l));
  const files = async (paths: string[]) => Promise.all(paths.map(async (path) => ({ path, content: await readFile(path), mode: 0o755 })));
  return [
    { name: 'libc6', version: '2.36-9', multiArch: 'same', section: 'libs', priority: 'required', files: await files(libc) },
    { name: 'libtinfo6', version: '6.4-4', multiArch: 'same', section: 'libs', priority: 'required', depends: 'libc6', files: await files(tinfo) },
    { name: 'bash', version: '5.2.15-2', essential: true, priority: 'required', section: 'shells', depends: 'libc6, libtinfo6', files: [{ path: '/bin/bash', content: await readFile(bash), mode: 0o755 }] },
    {
      name: 'fixtool',
      version: fixtoolVersion,
      architecture: 'all',
      files: [{ path: '/usr/bin/fixtool', content: `#!/bin/bash\necho "fixtool ${fixtoolVersion}: $*"\n`, mode: 0o755 }],
    },
  ];
}

export async function startEnvArchive(work: string): Promise<EnvArchive> {
  const root = join(work, 'archive');
  const archive = await buildFixtureArchive(root, [{ suite: 'fixture', packages: await hostShellPackages() }]);
  const server = await serveDirectory(root);
  const aptEtc = join(work, 'apt');
  await mkdir(join(aptEtc, 'sources.list.d'), { recursive: true });
  await writeFile(join(aptEtc, 'sources.list.d', 'fixture.sources'), `Types: deb\nURIs: ${server.url}\nSuites: fixture\nComponents: main\nSigned-By: ${archive.keyring}\n`);
  return {
    root,
    archive,
    server,
    aptEtc,
    async publishFixtool(version) {
      await buildFixtureArchive(root, [{ suite: 'fixture', packages: await hostShellPackages(version), date: 'Sun, 02 Jan 2022 00:00:00 UTC' }]);
    },
  };
}
