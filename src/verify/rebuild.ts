// Owns running one rebuild of `strata verify` the way a user would run it: the real CLI
// (`strata build … --json`) in its own process, with a build setting applied to that process
// — TZ and the locale in its environment, its umask (through /bin/sh), its HOME and working
// directory, a clock ten years ahead (faketime when installed, else STRATA_CLOCK_OFFSET),
// shuffled directory listings (STRATA_SHUFFLE_DIRENTS), its worker count and its cache.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError, type ErrorCode, ERROR_CODES } from '../errors.js';
import type { BuildSetting } from './perturbations.js';

/** The strata CLI that rebuilds run: $STRATA_VERIFY_CLI, else this strata's own. */
export function rebuildCli(env: NodeJS.ProcessEnv = process.env): string {
  return env.STRATA_VERIFY_CLI || fileURLToPath(new URL('../cli/main.js', import.meta.url));
}

/** A program on PATH, or undefined. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface RebuildRequest {
  /** "control", "experiment", "warm cache", "only tz". */
  name: string;
  setting: BuildSetting;
  specPath: string;
  lockfilePath: string;
  architectures?: string[];
  cacheDir: string;
  output: string;
  home: string;
  cwd: string;
  /** The environment the rebuild starts from (the user's), before the setting is applied. */
  baseEnv: NodeJS.ProcessEnv;
  /** faketime's path, when installed; else the clock moves by STRATA_CLOCK_OFFSET. */
  faketime?: string;
  shuffleSeed: number;
}

export interface RebuildResult {
  name: string;
  digest: string;
  output: string;
  durationMs: number;
  /** How the clock was moved, when it was. */
  clock: 'real' | 'faketime' | 'override';
  warnings: string[];
}

export function rebuildEnv(req: RebuildRequest): { env: NodeJS.ProcessEnv; argv: string[]; clock: RebuildResult['clock'] } {
  const s = req.setting;
  const env: NodeJS.ProcessEnv = { ...req.baseEnv };
  for (const k of ['LANGUAGE', 'LC_CTYPE', 'LC_COLLATE', 'LC_TIME', 'LC_NUMERIC', 'LC_MESSAGES', 'STRATA_CLOCK_OFFSET', 'STRATA_SHUFFLE_DIRENTS', 'STRATA_CACHE_DIR', 'FAKETIME']) delete env[k];
  Object.assign(env, { TZ: s.tz, LC_ALL: s.locale, LANG: s.locale, HOME: req.home, PWD: req.cwd, NO_COLOR: '1' });
  if (s.shuffle) env.STRATA_SHUFFLE_DIRENTS = String(req.shuffleSeed);
  const cli = rebuildCli(req.baseEnv);
  let argv = [process.execPath, cli, 'build', req.specPath, '-o', req.output, '--json', '--cache-dir', req.cacheDir, '--workers', String(s.workers), '--lockfile', req.lockfilePath];
  for (const a of req.architectures ?? []) argv.push('--arch', a);
  let clock: RebuildResult['clock'] = 'real';
  if (s.clockOffset > 0) {
    if (req.faketime !== undefined) {
      argv = [req.faketime, '-f', `+${Math.round(s.clockOffset / 86400)}d`, ...argv];
      clock = 'faketime';
    } else {
      env.STRATA_CLOCK_OFFSET = String(s.clockOffset);
      clock = 'override';
    }
  }
  // The umask is a property of the process: /bin/sh sets it, then execs the build.
  argv = ['/bin/sh', '-c', 'umask "$0" && exec "$@"', s.umask, ...argv];
  return { env, argv, clock };
}

function childError(name: string, code: number | null, stderr: string): StrataError {
  const line = stderr.split('\n').reverse().find((l) => l.startsWith('{"error"'));
  if (line !== undefined) {
    try {
      const e = (JSON.parse(line) as { error: { code: string; message: string; hint?: string } }).error;
      const known = e.code in ERROR_CODES ? (e.code as ErrorCode) : 'REBUILD_FAILED';
      return new StrataError(known === 'NOT_REPRODUCIBLE' || known === 'USAGE' ? 'REBUILD_FAILED' : known, `the ${name} rebuild failed: ${e.message}`, {
        detail: { rebuild: name, code: e.code },
        ...(e.hint !== undefined ? { hint: e.hint } : {}),
      });
    } catch {
      // fall through to the raw text
    }
  }
  return new StrataError('REBUILD_FAILED', `the ${name} rebuild exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ') || '(no output)'}`, {
    detail: { rebuild: name, exitCode: code },
    hint: 'run the same `strata build` by hand to see the whole error',
  });
}

export function rebuild(req: RebuildRequest): Promise<RebuildResult> {
  const { env, argv, clock } = rebuildEnv(req);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: req.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (e) => reject(new StrataError('REBUILD_FAILED', `cannot start the ${req.name} rebuild: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code !== 0) {
        reject(childError(req.name, code, stderr));
        return;
      }
      try {
        const out = JSON.parse(stdout) as { digest: string; platforms: Array<{ warnings?: string[] }> };
        resolve({ name: req.name, digest: out.digest, output: req.output, durationMs: Math.round(performance.now() - started), clock, warnings: out.platforms.flatMap((p) => p.warnings ?? []) });
      } catch (e) {
        reject(new StrataError('REBUILD_FAILED', `the ${req.name} rebuild printed no build report: ${(e as Error).message}`, { cause: e, detail: { stdout: stdout.slice(0, 2000), stderr: stderr.slice(0, 2000) } }));
      }
    });
  });
}
