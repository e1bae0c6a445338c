// Owns `strata shell`: an interactive shell (or one command) in an environment holding
// exactly the locked closure of some packages or of a spec, unprivileged, in the current
// directory, with the shell's exit status as strata's.
import { StrataError } from '../../errors.js';
import type { Command } from '../command.js';
import { openCacheFromArgs } from '../context.js';
import { ENV_OPTIONS, networkOf, openWithProgress, runInSandbox, targetFromWords } from '../env-options.js';

export const shellCommand: Command = {
  name: 'shell',
  summary: 'Start a shell in an environment of exactly the locked packages, in the current directory, unprivileged.',
  description: [
    'PKG... are Debian package names (locked against this machine\'s apt sources; the lock is kept in the',
    'cache, so the same names give the same environment until --update), or give one spec file, or an',
    'image (an OCI layout DIR or DIR:TAG, an oci-/docker-archive, a registry reference HOST/NAME:TAG).',
    'A closure without a shell gets bash. Inside: you, as yourself; the',
    'current directory mounted read-write at the same path; HOME an empty private directory; the',
    'host\'s DNS; everything else read-only. Needs bubblewrap and user namespaces (no root, no daemon).',
    'With -- COMMAND, runs that instead of the shell. Exits with the shell\'s (or command\'s) status.',
  ].join('\n'),
  positionals: [{ name: 'PKG|SPEC|IMAGE', required: true, variadic: true, description: 'package names, or one spec file, or one image (layout, archive, registry reference)' }],
  passThrough: { name: 'COMMAND [ARGS...]', description: 'run this command in the environment instead of an interactive shell' },
  options: [
    { name: 'update', type: 'boolean', description: 'package names: re-resolve them against the archive now (a new lock)' },
    { name: 'print-lock', type: 'boolean', description: 'print the lockfile of the environment and exit' },
    ...ENV_OPTIONS,
  ],
  examples: ['strata shell git curl', 'strata shell examples/python.yaml', 'strata shell jq -- jq --version', 'strata shell git curl --print-lock', 'strata shell git curl --update'],
  async run(args, out) {
    const target = await targetFromWords(args.positionals, args, { forShell: true, update: args.options.update === true });
    if (args.options.update === true && target.kind !== 'adhoc') throw new StrataError('USAGE', '--update applies to package names; for a spec run `strata lock SPEC --update`');
    if (args.options['print-lock'] === true) {
      const { environmentLock } = await import('../../env/open-env.js');
      const { hostArchitecture } = await import('../../env/host.js');
      const text = await environmentLock(target, { cache: await openCacheFromArgs(args), architecture: hostArchitecture(), onNote: (t) => out.note(t) });
      out.progressDone();
      out.line(text.replace(/\n$/, ''));
      return 0;
    }
    const { findBwrap, checkUserNamespaces } = await import('../../env/sandbox.js');
    const bwrap = findBwrap();
    checkUserNamespaces(bwrap);
    const opened = await openWithProgress(target, args, out);
    const { invoker } = await import('../../env/host.js');
    const { parseEnvAssignments, parseVolume, shellSandbox } = await import('../../env/launch.js');
    const cwd = process.cwd();
    const volumes = await Promise.all(((args.options.volume as string[] | undefined) ?? []).map((v) => parseVolume(v, cwd)));
    const run = await shellSandbox(opened, {
      invoker: invoker(),
      cwd,
      command: args.rest ?? [],
      env: parseEnvAssignments((args.options.env as string[] | undefined) ?? [], process.env),
      volumes,
      network: networkOf(args),
      hostEnv: process.env,
      interactive: process.stdin.isTTY === true,
      bwrap,
      onNote: (t) => out.note(t),
    });
    return runInSandbox(opened, run, args);
  },
};
