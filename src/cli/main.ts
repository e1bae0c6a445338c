#!/usr/bin/env node
// Owns the `strata` entry point: picks the command, parses its arguments, runs it, and maps
// any error to an exit code through the one table in output.ts.
import { StrataError } from '../errors.js';
import { STRATA_VERSION } from '../version.js';
import { formatHelp, parseCommandArgs, type Command } from './command.js';
import { createOutput, reportError } from './output.js';
import { installInterruptHandlers } from './interrupt.js';
/** Commands in help order, loaded on demand so that one command does not pay for all. */
const LOADERS: Array<[string, string, () => Promise<Command>]> = [
  ['lock', 'Resolve a spec into a verified, pinned package closure and write its lockfile.', async () => (await import('./commands/lock.js')).lockCommand],
  ['build', 'Build the image of a spec from its lockfile: bit-for-bit reproducible, no engine, no root, no scripts.', async () => (await import('./commands/build.js')).buildCommand],
  ['push', 'Push an image (a spec, an OCI layout or an oci-archive) to a registry, with its SBOMs and provenance.', async () => (await import('./commands/push.js')).pushCommand],
  ['plan', "Show how the image's packages are grouped into layers, in order, and why.", async () => (await import('./commands/plan.js')).planCommand],
  ['why', 'Show the dependency paths from the requested packages to PKG, or why PKG was left out.', async () => (await import('./commands/why.js')).whyCommand],
  ['audit', 'List every maintainer-script action of the closure that no effect handles.', async () => (await import('./commands/audit.js')).auditCommand],
  ['fetch', 'Download every .deb of the lock into the cache, each verified against its pinned sha256.', async () => (await import('./commands/fetch.js')).fetchCommand],
  ['vendor', 'Copy every locked .deb into DIR (pool layout), usable as a source.fallbacks entry.', async () => (await import('./commands/vendor.js')).vendorCommand],
  ['verify', 'Rebuild the image under perturbations (or check a given image) and compare every level; explain any difference.', async () => (await import('./commands/verify.js')).verifyCommand],
  ['diff', 'Explain the differences between two images or lockfiles: packages, layers, files, config, and their causes.', async () => (await import('./commands/diff.js')).diffCommand],
  ['shell', 'Start a shell in an environment of exactly the locked packages, in the current directory, unprivileged.', async () => (await import('./commands/shell.js')).shellCommand],
  ['run', "Run one command in a spec's or image's environment, with the image's user, env, workdir and entrypoint.", async () => (await import('./commands/run.js')).runCommand],
  ['cache', 'Show (ls, du) and free (gc) the cache: downloads, unpacked layers and environments.', async () => (await import('./commands/cache.js')).cacheCommand],
  ['serve', 'Run an OCI registry that builds images on demand: the repository name lists the packages.', async () => (await import('./commands/serve.js')).serveCommand],
];

export async function loadCommands(): Promise<Command[]> {
  return Promise.all(LOADERS.map(([, , load]) => load()));
}

function topHelp(): string {
  const width = Math.max(...LOADERS.map(([name]) => name.length)) + 2;
  return [
    `strata ${STRATA_VERSION} — reproducible container images and environments from Debian packages`,
    '',
    'Usage: strata COMMAND [arguments] [options]',
    '',
    'Commands:',
    ...LOADERS.map(([name, summary]) => `  ${name.padEnd(width)} ${summary}`),
    '',
    'Run `strata COMMAND --help` for the arguments and options of a command.',
    "Exit codes: 0 ok, 1 error, 2 usage error, 3 not reproducible; shell and run exit with the command's code (127: not in the environment).",
    'Environment: NO_COLOR disables colour; STRATA_CACHE_DIR sets the cache.',
    '',
  ].join('\n');
}

// A reader that stops early (`strata plan … | head`) closes the pipe: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

export async function main(argv: string[]): Promise<number> {
  const dd = argv.indexOf('--');
  const json = (dd < 0 ? argv : argv.slice(0, dd)).includes('--json');
  const out = createOutput(json);
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const loader = name === 'help' ? LOADERS.find(([n]) => n === rest[0]) : undefined;
      if (name === 'help' && rest[0] !== undefined && loader === undefined) {
        throw new StrataError('USAGE', `help: unknown command ${JSON.stringify(rest[0])}`, { hint: `commands: ${LOADERS.map(([n]) => n).join(', ')}` });
      }
      process.stdout.write(loader ? formatHelp(await loader[2]()) : topHelp());
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      process.stdout.write(`${STRATA_VERSION}\n`);
      return 0;
    }
    const loader = LOADERS.find(([n]) => n === name);
    if (loader === undefined) {
      throw new StrataError('USAGE', `unknown command ${JSON.stringify(name)}`, {
        hint: `commands: ${LOADERS.map(([n]) => n).join(', ')}; run \`strata --help\``,
      });
    }
    const command = await loader[2]();
    if (!['shell', 'run', 'serve'].includes(command.name)) installInterruptHandlers();
    const args = parseCommandArgs(command, rest);
    if (args.options.help === true) {
      process.stdout.write(formatHelp(command));
      return 0;
    }
    return await command.run(args, out);
  } catch (e) {
    return reportError(e, out);
  }
}

// The perturbations of `strata verify`'s rebuilds that only this process can apply (clock, listings).
if (process.env.STRATA_CLOCK_OFFSET !== undefined || process.env.STRATA_SHUFFLE_DIRENTS !== undefined) {
  (await import('./perturb-process.js')).applyProcessPerturbations(process.env);
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
