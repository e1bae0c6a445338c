// Owns finding commands inside an environment's tree from the host, before the sandbox
// starts: path resolution with the tree as the root (an absolute symlink such as
// /bin -> /usr/bin points inside the tree, `..` stops at its top), the PATH search a shell
// would do, and the list of commands the PATH holds, for the message when one is missing.
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
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
