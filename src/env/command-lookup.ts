// Owns finding commands inside an environment's tree from the host, before the sandbox
// starts: path resolution with the tree as the root (an absolute symlink such as
// /bin -> /usr/bin points inside the tree, `..` stops at its top), the PATH search a shell
// would do, the list of commands the PATH holds, for the message when one is missing, and
// the interpreter a command needs (a script's #! line, an ELF program's loader), so that a
// command whose interpreter is missing is reported as such rather than as bwrap's ENOENT.
import { lstat, open, readdir, readlink, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';

const MAX_SYMLINKS = 40;

/** The host path of `path` (absolute, inside the tree) with every symlink resolved within the tree, or undefined. */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let st;
    try {
      st = await lstat(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) return undefined;
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}

async function isExecutableFile(hostPath: string): Promise<boolean> {
  try {
    const st = await stat(hostPath);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export function pathDirs(pathVar: string | undefined): string[] {
  return (pathVar ?? '').split(':').filter((d) => d.startsWith('/'));
}

/**
 * Where `command` resolves to inside the tree, as the sandbox will see it: a name is searched
 * along PATH, a path with a slash is taken relative to `workdir`. Undefined when it is missing
 * or not executable.
 */
export async function findCommand(root: string, command: string, pathVar: string | undefined, workdir: string): Promise<string | undefined> {
  if (command === '') return undefined;
  if (command.includes('/')) {
    const inside = posix.resolve(workdir, command);
    const host = await resolveInRoot(root, inside);
    return host !== undefined && (await isExecutableFile(host)) ? inside : undefined;
  }
  for (const dir of pathDirs(pathVar)) {
    const inside = posix.join(dir, command);
    const host = await resolveInRoot(root, inside);
    if (host !== undefined && (await isExecutableFile(host))) return inside;
  }
  return undefined;
}

/** Every executable name on PATH inside the tree, sorted, once each. */
export async function listCommands(root: string, pathVar: string | undefined): Promise<string[]> {
  const names = new Set<string>();
  for (const dir of pathDirs(pathVar)) {
    const host = await resolveInRoot(root, dir);
    if (host === undefined) continue;
    let entries: string[];
    try {
      entries = await readdir(host);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (names.has(name)) continue;
      const resolved = await resolveInRoot(root, posix.join(dir, name));
      if (resolved !== undefined && (await isExecutableFile(resolved))) names.add(name);
    }
  }
  return [...names].sort();
}

/** What runs a file: the interpreter of a script (and the program `env` is asked for), or an ELF program's loader. */
async function interpreterOf(hostPath: string): Promise<{ path: string; envArg?: string } | undefined> {
  const handle = await open(hostPath, 'r').catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const head = Buffer.alloc(256);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead >= 4 && head[0] === 0x23 && head[1] === 0x21) {
      const line = head.subarray(2, bytesRead).toString('latin1').split('\n')[0]!.trim();
      const [path, ...args] = line.split(/[ \t]+/);
      if (path === undefined || !path.startsWith('/')) return undefined;
      const envArg = posix.basename(path) === 'env' ? args.find((a) => !a.startsWith('-') && !a.includes('=')) : undefined;
      return envArg === undefined ? { path } : { path, envArg };
    }
    // ELF, little-endian: the PT_INTERP program header names the dynamic loader.
    if (bytesRead < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[5] !== 1) return undefined;
    const is64 = head[4] === 2;
    const phoff = is64 ? Number(head.readBigUInt64LE(0x20)) : head.readUInt32LE(0x1c);
    const phentsize = head.readUInt16LE(is64 ? 0x36 : 0x2a);
    const phnum = head.readUInt16LE(is64 ? 0x38 : 0x2c);
    if (phnum === 0 || phnum > 256 || phentsize < (is64 ? 56 : 32)) return undefined;
    const table = Buffer.alloc(phentsize * phnum);
    await handle.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (table.readUInt32LE(at) !== 3) continue; // PT_INTERP
      const offset = is64 ? Number(table.readBigUInt64LE(at + 8)) : table.readUInt32LE(at + 4);
      const size = is64 ? Number(table.readBigUInt64LE(at + 32)) : table.readUInt32LE(at + 16);
      if (size === 0 || size > 4096) return undefined;
      const name = Buffer.alloc(size);
      await handle.read(name, 0, size, offset);
      const path = name.toString('latin1').replace(/\0.*$/s, '');
      return path.startsWith('/') ? { path } : undefined;
    }
    return undefined; // a static program
  } finally {
    await handle.close();
  }
}

/**
 * The interpreter `inside` (a command found in the tree) needs and the tree lacks — a script's
 * #! interpreter, the program `#!/usr/bin/env NAME` asks for, or an ELF program's loader — or
 * undefined when it has what it needs (or its format is unknown: the sandbox will say).
 */
export async function missingInterpreter(root: string, inside: string, pathVar: string | undefined): Promise<string | undefined> {
  const host = await resolveInRoot(root, inside);
  if (host === undefined) return undefined;
  const interp = await interpreterOf(host);
  if (interp === undefined) return undefined;
  const interpHost = await resolveInRoot(root, interp.path);
  if (interpHost === undefined || !(await isExecutableFile(interpHost))) return interp.path;
  if (interp.envArg !== undefined && (await findCommand(root, interp.envArg, pathVar, '/')) === undefined) return `${interp.envArg} (asked for by ${interp.path})`;
  return undefined;
}
