// Owns `strata run`: one command in the environment of a spec or an image, with the image's
// user, environment, working directory and entrypoint, the command's streams and exit code
// passed through, and signals forwarded to it.
import type { Command } from '../command.js';
import { ENV_OPTIONS, networkOf, openWithProgress, runInSandbox, targetFromWords } from '../env-options.js';

export const runCommand: Command = {
  name: 'run',
  summary: "Run one command in a spec's or image's environment, with the image's user, env, workdir and entrypoint.",
  description: [
    'SPEC is a spec file (built from its lockfile); IMAGE an OCI layout directory (DIR or DIR:TAG), an',
    'oci-archive or docker-archive file, or a registry reference (HOST[:PORT]/NAME[:TAG]; plain HTTP on',
    'loopback with --insecure), its layers checked against the config\'s DiffIDs as they are unpacked.',
    'The command after -- runs as given (found on the image\'s PATH); with no command, the image\'s',
    'entrypoint and cmd run. --entrypoint E runs E with the words after -- as its arguments, and',
    '--args passes them to the image\'s own entrypoint (as `docker run IMAGE ARGS...` would).',
    'The image\'s user, env and workdir apply, --user, --env and --workdir override them; the file',
    'system is read-only except /tmp, /run and --volume mounts. stdin, stdout, stderr and the exit',
    'code pass through (127: no such command in the environment); signals reach the command.',
  ].join('\n'),
  positionals: [{ name: 'SPEC|IMAGE', required: true, description: 'a spec file, or an image: OCI layout (DIR or DIR:TAG), oci-/docker-archive, registry reference' }],
  passThrough: { name: 'COMMAND [ARGS...]', description: 'the command (or, with --entrypoint or --args, the arguments)' },
  options: [
    { name: 'entrypoint', type: 'string', value: 'PATH', description: 'run PATH, with the words after -- as its arguments ("" for none: they are the whole command)' },
    { name: 'args', type: 'boolean', description: 'the words after -- are arguments for the image\'s entrypoint' },
    { name: 'user', short: 'u', type: 'string', value: 'USER[:GROUP]', description: 'run as this user (a name of the image or a numeric uid[:gid]); default: the image\'s' },
    { name: 'workdir', short: 'w', type: 'string', value: 'DIR', description: 'the working directory inside; default: the image\'s, else /' },
    ...ENV_OPTIONS,
  ],
  examples: [
    "strata run examples/python.yaml -- python3 -c 'import requests; print(requests.__version__)'",
    'strata run examples/redis.yaml --args -- --version',
    'strata run redis.oci:latest --network none',
    'strata run 127.0.0.1:5000/redis-server --insecure -- redis-cli --version',
    'strata run examples/python.yaml --volume "$PWD:/app" -- python3 main.py',
  ],
  async run(args, out) {
    const target = await targetFromWords(args.positionals, args, { forShell: false, update: false });
    const { findBwrap, checkUserNamespaces } = await import('../../env/sandbox.js');
    const bwrap = findBwrap();
    checkUserNamespaces(bwrap);
    const opened = await openWithProgress(target, args, out);
    const { parseEnvAssignments, parseVolume, runSandboxFor } = await import('../../env/launch.js');
    const cwd = process.cwd();
    const volumes = await Promise.all(((args.options.volume as string[] | undefined) ?? []).map((v) => parseVolume(v, cwd)));
    const options: Parameters<typeof runSandboxFor>[1] = {
      command: args.rest ?? [],
      entrypointArgs: args.options.args === true,
      env: parseEnvAssignments((args.options.env as string[] | undefined) ?? [], process.env),
      volumes,
      network: networkOf(args),
      hostEnv: process.env,
      interactive: process.stdin.isTTY === true,
      bwrap,
    };
    if (typeof args.options.entrypoint === 'string') options.entrypoint = args.options.entrypoint;
    if (typeof args.options.user === 'string') options.user = args.options.user;
    if (typeof args.options.workdir === 'string') options.workdir = args.options.workdir;
    const run = await runSandboxFor(opened, options);
    return runInSandbox(opened, run, args);
  },
};
