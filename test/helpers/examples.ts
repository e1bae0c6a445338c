// Shared by the example tests: building an example from its committed lock with the library,
// running the real tools (skopeo, umoci, oci-image-tool, bwrap, podman) as child processes,
// and running a program of an unpacked image in a bwrap sandbox the way a runtime would
// (the config's user, environment and working directory).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheDir } from '../../src/cache/cache-dir.js';
import { buildImage, type BuildResult } from '../../src/build/build.js';
import { staleReasons } from '../../src/build/lock.js';
import { parseLockfile, type Lockfile } from '../../src/debian/lockfile.js';
import { isStrataError } from '../../src/errors.js';
import type { ImageConfig } from '../../src/image/oci.js';
import { defaultLockfilePath, loadSpec } from '../../src/spec/load-spec.js';
import type { LoadedSpec } from '../../src/spec/spec.js';
import { REPO_ROOT } from './cli.js';

export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
export const GOLDEN_FILE = join(REPO_ROOT, 'test', 'golden-digests.json');

/** The cache the example tests share between runs: $STRATA_TEST_CACHE, else <tmp>/strata-test-cache. */
export function testCacheDir(): string {
  const v = process.env.STRATA_TEST_CACHE;
  return v !== undefined && v !== '' ? v : join(tmpdir(), 'strata-test-cache');
}

export interface BuiltExample {
  name: string;
  loaded: LoadedSpec;
  lock: Lockfile;
  result: BuildResult;
}

/**
 * Builds a spec from its committed lockfile, as `strata build` does (no SOURCE_DATE_EPOCH:
 * the golden digests are of the default build). Failures become errors that say what to do:
 * a stale lock, and above all a .deb the mirror no longer has (DEB_NOT_FOUND), which is the
 * expected way for a committed lock to age.
 */
export async function buildExample(specPath: string, cacheDir = testCacheDir()): Promise<BuiltExample> {
  const name = specPath.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
  const shown = specPath.startsWith(`${REPO_ROOT}/`) ? specPath.slice(REPO_ROOT.length + 1) : specPath;
  const loaded = await loadSpec(specPath);
  const lockPath = defaultLockfilePath(loaded.path);
  const lock = parseLockfile(await readFile(lockPath, 'utf8'), lockPath);
  const stale = staleReasons(loaded, lock);
  if (stale.length > 0) throw new Error(`${shown}: its lockfile is stale (${stale.join('; ')}); run \`strata lock ${shown}\` and refresh the golden digests (docs/examples.md)`);
  const cache = await CacheDir.open(cacheDir);
  try {
    return { name, loaded, lock, result: await buildImage(loaded, lock, { cache }) };
  } catch (e) {
    if (isStrataError(e, 'DEB_NOT_FOUND')) {
      const gone = (e.detail?.package as string | undefined) ?? 'a package';
      throw new Error(
        [
          `${shown}: the mirror no longer has the locked .deb of ${gone}, so the committed lock cannot be built.`,
          `  ${e.message}`,
          `  Fix: run \`strata lock --update ${shown}\`, then refresh test/golden-digests.json and docs/sizes.md and commit them together (docs/examples.md).`,
        ].join('\n'),
        { cause: e },
      );
    }
    if (isStrataError(e)) throw new Error(`${shown}: the build failed: [${e.code}] ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`, { cause: e });
    throw e;
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program; never throws for a non-zero exit (callers assert on it). With `files`, its
 * stdout and stderr are regular files rather than node's socket pairs, as a runtime's pipes
 * or log files would be: programs that open /dev/stdout (nginx's logs) cannot open a socket.
 */
export async function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; files?: boolean } = {}): Promise<RunResult> {
  if (opts.files) {
    const dir = await mkdtemp(join(tmpdir(), 'strata-run-'));
    const out = await open(join(dir, 'stdout'), 'w+');
    const err = await open(join(dir, 'stderr'), 'w+');
    try {
      const code = await spawnWait(cmd, args, ['ignore', out.fd, err.fd], opts);
      return { code, stdout: await readFile(join(dir, 'stdout'), 'utf8'), stderr: await readFile(join(dir, 'stderr'), 'utf8') };
    } finally {
      await out.close();
      await err.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  let stdout = '';
  let stderr = '';
  const code = await spawnWait(cmd, args, ['ignore', 'pipe', 'pipe'], opts, (child) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  });
  return { code, stdout, stderr };
}

function spawnWait(cmd: string, args: string[], stdio: StdioOptions, opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }, attach?: (child: ChildProcess) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio, env: opts.env ?? process.env, cwd: opts.cwd });
    attach?.(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}${(e as NodeJS.ErrnoException).code === 'ENOENT' ? ' (install it: see the apt-get line in .ci/run)' : ''}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 128 : -1));
    });
  });
}

/** Runs a program and fails with its output when it exits non-zero. */
export async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

/**
 * Runs argv inside ROOTFS under bwrap, as a runtime would start the image: the config's user
 * (numeric uid:gid), only the config's environment, its working directory; fresh /proc,
 * /dev and /tmp; no network. `extra` adds bwrap options (such as binds).
 */
export function sandbox(rootfs: string, config: ImageConfig['config'], argv: string[], extra: string[] = []): Promise<RunResult> {
  const [uid = '0', gid = '0'] = (config.User ?? '0:0').split(':');
  if (!/^[0-9]+$/.test(uid) || !/^[0-9]+$/.test(gid)) throw new Error(`the image's User ${config.User} is not numeric uid:gid`);
  const env = (config.Env ?? []).flatMap((kv) => {
    const i = kv.indexOf('=');
    return ['--setenv', kv.slice(0, i), kv.slice(i + 1)];
  });
  return run('bwrap', [
    '--unshare-all',
    '--die-with-parent',
    '--bind', rootfs, '/',
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--uid', uid,
    '--gid', gid,
    '--clearenv',
    ...env,
    '--chdir', config.WorkingDir ?? '/',
    ...extra,
    ...argv,
  ], { files: true });
}
