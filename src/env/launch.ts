// Owns what a sandbox of `strata shell` and of `strata run` holds, from an opened environment:
//   shell — you, as yourself (your uid and gid, a passwd entry for you), in the current
//     directory bind-mounted read-write at the same path, HOME a private empty tmpfs at your
//     home's path (none of your dotfiles: the environment behaves the same everywhere), the
//     host's resolv.conf and hosts, a prompt naming the environment;
//   run — the image's semantics: its user, environment, working directory, entrypoint and
//     cmd, with --user, --env, --workdir, --entrypoint and --volume overriding them, as
//     `docker run` does; the current directory is not mounted unless a volume names it.
// Both check that the command exists in the environment before starting it, and fail with
// exit code 127 and the commands that are there when it does not.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { resolve as resolvePath, posix, join } from 'node:path';
import { StrataError } from '../errors.js';
import { closestNames } from '../util/closest-name.js';
import { findCommand, listCommands, missingInterpreter } from './command-lookup.js';
import type { Invoker } from './host.js';
import type { OpenedEnv } from './open-env.js';
import { sandboxArgs, normaliseTarget, type SandboxMount, type TreeView } from './sandbox-plan.js';
import { dataFd, type SandboxRun } from './sandbox.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment's tree seen from the host, for the mount plan (never follows a symlink). */
export function treeView(root: string): TreeView {
  return {
    async lookup(path) {
      const parts = path.split('/').filter((p) => p !== '');
      for (let i = 0; i < parts.length; i++) {
        const inside = `/${parts.slice(0, i + 1).join('/')}`;
        let st;
        try {
          st = await lstat(join(root, inside));
        } catch {
          return { type: 'missing' };
        }
        const last = i === parts.length - 1;
        if (st.isSymbolicLink()) {
          if (!last) return { type: 'missing', symlinkAt: inside };
          return { type: 'symlink', target: await readlink(join(root, inside)) };
        }
        if (last) return { type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other' };
        if (!st.isDirectory()) return { type: 'missing', symlinkAt: undefined };
      }
      return { type: 'dir' };
    },
    async children(path) {
      return (await readdir(join(root, path))).sort();
    },
  };
}

export interface Volume {
  source: string;
  target: string;
  readOnly: boolean;
}

/** HOST:CONTAINER[:ro|:rw] → a bind mount; the host path must exist. */
export async function parseVolume(text: string, cwd: string): Promise<Volume> {
  const parts = text.split(':');
  let mode: string | undefined;
  if (parts.length === 3) mode = parts.pop();
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new StrataError('USAGE', `--volume ${JSON.stringify(text)}: write HOST:CONTAINER, or HOST:CONTAINER:ro for a read-only mount`);
  }
  const source = resolvePath(cwd, parts[0]!);
  try {
    await lstat(source);
  } catch {
    throw new StrataError('USAGE', `--volume ${text}: ${source} does not exist on this machine`);
  }
  return { source, target: normaliseTarget(parts[1]!), readOnly: mode === 'ro' };
}

/** --env K=V, or K to pass this machine's value of K. */
export function parseEnvAssignments(items: string[], host: NodeJS.ProcessEnv): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new StrataError('USAGE', `--env ${JSON.stringify(item)}: write NAME=VALUE or NAME (to pass this machine's value)`);
    if (eq >= 0) out.push([name, item.slice(eq + 1)]);
    else if (host[name] !== undefined) out.push([name, host[name]!]);
  }
  return out;
}

function envMap(list: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i > 0) out.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return out;
}

async function readEtc(root: string, name: string): Promise<string> {
  try {
    return await readFile(join(root, 'etc', name), 'utf8');
  } catch {
    return '';
  }
}

const rows = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'));

/** USER[:GROUP] (names or numbers) → numeric ids and home, through the environment's passwd and group. */
export async function resolveUser(root: string, spec: string): Promise<{ uid: number; gid: number; home: string | undefined }> {
  const [user = '0', group] = spec.split(':');
  const passwd = rows(await readEtc(root, 'passwd'));
  const entry = /^[0-9]+$/.test(user) ? passwd.find((r) => r[2] === user) : passwd.find((r) => r[0] === user);
  if (entry === undefined && !/^[0-9]+$/.test(user)) {
    throw new StrataError('USAGE', `user ${JSON.stringify(user)} is not in the environment's /etc/passwd`, { hint: 'give a numeric uid[:gid], or a user the image declares' });
  }
  const uid = entry !== undefined ? Number(entry[2]) : Number(user);
  let gid = entry !== undefined ? Number(entry[3]) : 0;
  if (group !== undefined && group !== '') {
    if (/^[0-9]+$/.test(group)) gid = Number(group);
    else {
      const g = rows(await readEtc(root, 'group')).find((r) => r[0] === group);
      if (g === undefined) throw new StrataError('USAGE', `group ${JSON.stringify(group)} is not in the environment's /etc/group`);
      gid = Number(g[2]);
    }
  }
  return { uid, gid, home: entry?.[5] };
}

/** Refuses a command whose interpreter (script #!, ELF loader) the environment lacks: bwrap would only say ENOENT. */
async function checkInterpreter(opened: OpenedEnv, command: string, found: string, pathVar: string): Promise<void> {
  const missing = await missingInterpreter(opened.root, found, pathVar);
  if (missing === undefined) return;
  throw new StrataError('COMMAND_NOT_FOUND', `${command}: it needs ${missing}, which is not in the environment ${opened.record.name}`, {
    detail: { command, path: found, missing },
    hint: 'add the package that ships it to the packages (for a shell script, bash or dash), or run another command',
  });
}

/** A COMMAND_NOT_FOUND error that lists what the environment has. */
async function notFound(opened: OpenedEnv, command: string, pathVar: string): Promise<StrataError> {
  const commands = await listCommands(opened.root, pathVar);
  const near = command.includes('/') ? [] : closestNames(command, commands, 3);
  const shown = commands.length > 60 ? `${commands.slice(0, 60).join(', ')}, … (${commands.length - 60} more)` : commands.join(', ');
  return new StrataError('COMMAND_NOT_FOUND', `${command}: no such command in the environment ${opened.record.name}`, {
    detail: { command, path: pathVar, commands },
    hint: `${near.length > 0 ? `did you mean ${near.join(' or ')}? ` : ''}its PATH (${pathVar}) has ${commands.length} command${commands.length === 1 ? '' : 's'}: ${shown || 'none'}`,
  });
}

async function shadowsTree(root: string, target: string): Promise<boolean> {
  if (target === '/') return true;
  const node = await treeView(root).lookup(target);
  if (node.type !== 'dir') return false;
  return (await readdir(join(root, target))).length > 0;
}

function hostNetworkFiles(): SandboxMount[] {
  return [
    { kind: 'ro-bind', source: '/etc/resolv.conf', target: '/etc/resolv.conf' },
    { kind: 'ro-bind', source: '/etc/hosts', target: '/etc/hosts' },
  ];
}

async function existingHostFiles(mounts: SandboxMount[]): Promise<SandboxMount[]> {
  const out: SandboxMount[] = [];
  for (const m of mounts) {
    try {
      await lstat(String(m.source));
      out.push(m);
    } catch {
      // the host has none: the environment's empty file stays
    }
  }
  return out;
}

export interface ShellOptions {
  invoker: Invoker;
  cwd: string;
  /** A command to run instead of an interactive shell. */
  command: string[];
  env: Array<[string, string]>;
  volumes: Volume[];
  network: 'host' | 'none';
  hostEnv: NodeJS.ProcessEnv;
  interactive: boolean;
  bwrap: string;
  /** Told when the current directory is not mounted. */
  onNote?: (text: string) => void;
}

const SHELLS: Array<[string, string[]]> = [
  ['bash', []],
  ['sh', []],
  ['dash', []],
  ['zsh', []],
  ['mksh', []],
  ['busybox', ['sh']],
];

export async function shellSandbox(opened: OpenedEnv, o: ShellOptions): Promise<SandboxRun> {
  const config = envMap(opened.record.config.env);
  const pathVar = config.get('PATH') ?? DEFAULT_PATH;
  let shell: string[] | undefined;
  for (const [name, args] of SHELLS) {
    const found = await findCommand(opened.root, name, pathVar, '/');
    if (found !== undefined) {
      shell = [found, ...args];
      break;
    }
  }
  let argv: string[];
  if (o.command.length > 0) {
    const found = await findCommand(opened.root, o.command[0]!, pathVar, o.cwd);
    if (found === undefined) throw await notFound(opened, o.command[0]!, pathVar);
    await checkInterpreter(opened, o.command[0]!, found, pathVar);
    argv = o.command;
  } else {
    if (shell === undefined) throw await notFound(opened, 'sh', pathVar);
    argv = shell;
  }
  const { uid, gid, name } = o.invoker;
  let home = o.invoker.home;
  if (home === '/' || (await shadowsTree(opened.root, home))) home = `/home/${name}`;
  // Started from your home itself: it is the mounted directory, and there is no private HOME.
  const mounts: SandboxMount[] = home === o.cwd ? [] : [{ kind: 'tmpfs', target: home }];
  let chdir = o.cwd;
  if (await shadowsTree(opened.root, o.cwd)) {
    o.onNote?.(`the current directory ${o.cwd} is not mounted: it would hide the environment's own ${o.cwd}; starting in ${home}`);
    chdir = home;
  } else {
    mounts.push({ kind: 'bind', source: o.cwd, target: o.cwd });
  }
  for (const v of o.volumes) mounts.push({ kind: v.readOnly ? 'ro-bind' : 'bind', source: v.source, target: v.target });
  if (o.network === 'host') mounts.push(...(await existingHostFiles(hostNetworkFiles())));
  // A passwd and group entry for you, so that `id`, prompts and ssh know your name.
  const shellPath = shell?.[0] ?? '/bin/sh';
  let passwd = await readEtc(opened.root, 'passwd');
  let group = await readEtc(opened.root, 'group');
  if (!rows(passwd).some((r) => r[2] === String(uid))) passwd += `${passwd === '' || passwd.endsWith('\n') ? '' : '\n'}${name}:x:${uid}:${gid}:${name}:${home}:${shellPath}\n`;
  if (!rows(group).some((r) => r[2] === String(gid))) group += `${group === '' || group.endsWith('\n') ? '' : '\n'}${name}:x:${gid}:\n`;
  mounts.push({ kind: 'ro-bind-data', source: dataFd(0), target: '/etc/passwd' }, { kind: 'ro-bind-data', source: dataFd(1), target: '/etc/group' });

  const label = `strata:${opened.record.name}`;
  const env = new Map<string, string>(config);
  env.set('PATH', pathVar);
  env.set('HOME', home);
  env.set('USER', name);
  env.set('LOGNAME', name);
  env.set('SHELL', shellPath);
  env.set('LANG', 'C.UTF-8');
  for (const k of ['TERM', 'COLORTERM', 'NO_COLOR']) if (o.hostEnv[k] !== undefined) env.set(k, o.hostEnv[k]!);
  // Debian's /etc/bash.bashrc puts $debian_chroot in the prompt; PS1 covers other shells.
  env.set('debian_chroot', label);
  env.set('PS1', `(${label}) \\w \\$ `);
  env.set('STRATA_ENV', opened.record.name);
  for (const [k, v] of o.env) env.set(k, v);
  const args = await sandboxArgs({ root: opened.root, uid, gid, chdir, mounts, network: o.network, argv }, treeView(opened.root));
  const sharedTerminal = o.interactive && o.command.length === 0;
  return { bwrap: o.bwrap, args, argv, env: Object.fromEntries(env), data: [Buffer.from(passwd), Buffer.from(group)], sharedTerminal };
}

export interface RunOptions {
  /** What follows `--`. */
  command: string[];
  /** Overrides the image's entrypoint; `command` becomes its arguments. */
  entrypoint?: string;
  /** `command` holds arguments for the image's entrypoint (docker run IMAGE ARGS…). */
  entrypointArgs: boolean;
  user?: string;
  workdir?: string;
  env: Array<[string, string]>;
  volumes: Volume[];
  network: 'host' | 'none';
  hostEnv: NodeJS.ProcessEnv;
  interactive: boolean;
  bwrap: string;
}

/** The argv `strata run` starts, from the image's entrypoint and cmd and the options. */
export function runArgv(config: { entrypoint?: string[]; cmd?: string[] }, o: Pick<RunOptions, 'command' | 'entrypoint' | 'entrypointArgs'>): string[] {
  if (o.entrypoint !== undefined) return o.entrypoint === '' ? o.command : [o.entrypoint, ...o.command];
  if (o.entrypointArgs) return [...(config.entrypoint ?? []), ...o.command];
  if (o.command.length > 0) return o.command;
  return [...(config.entrypoint ?? []), ...(config.cmd ?? [])];
}

export async function runSandboxFor(opened: OpenedEnv, o: RunOptions): Promise<SandboxRun> {
  const config = envMap(opened.record.config.env);
  const pathVar = config.get('PATH') ?? DEFAULT_PATH;
  const argv = runArgv(opened.record.config, o);
  if (argv.length === 0) {
    throw new StrataError('USAGE', `${opened.record.name} has no entrypoint or cmd: name the command to run`, { hint: `strata run ${opened.record.name} -- COMMAND [ARGS…]` });
  }
  const user = await resolveUser(opened.root, o.user ?? opened.record.config.user ?? '0:0');
  const workdir = normaliseTarget(o.workdir ?? opened.record.config.workdir ?? '/');
  const mounted = o.volumes.some((v) => v.target === workdir || workdir.startsWith(`${v.target}/`));
  if (!mounted && (await treeView(opened.root).lookup(workdir)).type !== 'dir') {
    throw new StrataError('USAGE', `the working directory ${workdir} is not a directory of the environment`, { hint: 'give --workdir DIR, or mount one there with --volume HOST:DIR' });
  }
  const found = await findCommand(opened.root, argv[0]!, pathVar, workdir);
  if (found === undefined) {
    const onVolume = argv[0]!.includes('/') && o.volumes.some((v) => posix.resolve(workdir, argv[0]!).startsWith(`${v.target}/`));
    if (!onVolume) throw await notFound(opened, argv[0]!, pathVar);
  } else {
    await checkInterpreter(opened, argv[0]!, found, pathVar);
  }
  const mounts: SandboxMount[] = o.volumes.map((v) => ({ kind: v.readOnly ? 'ro-bind' : 'bind', source: v.source, target: v.target }));
  // The image's Volumes (spec `paths` with volume: true) get a fresh writable tmpfs, as an
  // engine gives them an anonymous volume, unless --volume mounts something there.
  for (const target of opened.record.config.volumes ?? []) {
    if (!o.volumes.some((v) => normaliseTarget(v.target) === normaliseTarget(target))) mounts.push({ kind: 'tmpfs', target });
  }
  if (o.network === 'host') mounts.push(...(await existingHostFiles(hostNetworkFiles())));
  const env = new Map<string, string>(config);
  env.set('PATH', pathVar);
  if (!env.has('HOME')) env.set('HOME', user.home ?? '/');
  if (o.interactive && o.hostEnv.TERM !== undefined) env.set('TERM', o.hostEnv.TERM);
  for (const [k, v] of o.env) env.set(k, v);
  const args = await sandboxArgs({ root: opened.root, uid: user.uid, gid: user.gid, chdir: workdir, mounts, network: o.network, argv }, treeView(opened.root));
  return { bwrap: o.bwrap, args, argv, env: Object.fromEntries(env), data: [], sharedTerminal: false };
}
