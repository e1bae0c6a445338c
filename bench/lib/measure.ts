// Shared pieces of the benchmarks: timing whole processes, medians, machine facts, and the
// results files. Benchmarks are scripts, never timed assertions in tests: the numbers depend
// on the machine and its load, so each benchmark measures its baseline in the same run, on
// the same input, interleaved with what it compares, and reports the ratio.
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/bench/lib/measure.js → ../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** One measured quantity: every run, in order, and their median. */
export interface Series {
  unit: 'ms' | 'KiB' | 'packages';
  runs: number[];
  median: number;
  min: number;
  max: number;
}

export function series(unit: Series['unit'], runs: number[], digits = 1): Series {
  return { unit, runs: runs.map((r) => round(r, digits)), median: round(median(runs), digits), min: round(Math.min(...runs), digits), max: round(Math.max(...runs), digits) };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** GNU time, for a child's peak RSS; undefined when the host has none. */
export const GNU_TIME: string | undefined = isExecutable('/usr/bin/time') ? '/usr/bin/time' : undefined;

export interface ProcessRun {
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
  /** Peak resident set size in KiB, when it could be measured. */
  maxRssKiB: number | undefined;
  /** User + system CPU time of the process (and its waited-for children), with GNU time only. */
  cpuMs: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Discard stdout (sent to /dev/null, as a shell `> /dev/null` does) instead of collecting it. */
  discardStdout?: boolean;
  /** Measure peak RSS and CPU time with GNU time (-f '%M %U %S'); it writes to `rssFile`. */
  rssFile?: string;
}

/**
 * Runs a command and times the whole process, spawn to exit. With `rssFile` and GNU time on
 * the host, the command runs under `time -f '%M %U %S' -o rssFile` (adding about a
 * millisecond, the same for every command measured this way).
 */
export async function runTimed(argv: string[], opts: RunOptions = {}): Promise<ProcessRun> {
  let cmd = argv;
  const useTime = opts.rssFile !== undefined && GNU_TIME !== undefined;
  if (useTime) cmd = [GNU_TIME!, '-f', '%M %U %S', '-o', opts.rssFile!, ...argv];
  const started = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const ms = performance.now() - started;
  let maxRssKiB: number | undefined;
  let cpuMs: number | undefined;
  if (useTime) {
    const text = await readFile(opts.rssFile!, 'utf8').catch(() => '');
    const m = /^([0-9]+) ([0-9.]+) ([0-9.]+)$/.exec(text.trim().split('\n').pop() ?? '');
    if (m !== null) {
      maxRssKiB = Number(m[1]);
      cpuMs = (Number(m[2]) + Number(m[3])) * 1000;
    }
    await rm(opts.rssFile!, { force: true });
  }
  return { ms, maxRssKiB, cpuMs, code, stdout, stderr };
}

export function mustSucceed(run: ProcessRun, what: string): ProcessRun {
  if (run.code !== 0) {
    throw new Error(`${what} exited with ${run.code}:\n${run.stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  return run;
}

export interface MachineFacts {
  node: string;
  platform: string;
  cpuModel: string;
  cores: number;
  /** 1-minute load average when the benchmark started and ended: other work skews timings. */
  loadAverage: { start: number; end?: number };
}

export function machineFacts(): MachineFacts {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m !== null) cpuModel = m[1]!.trim();
  } catch {
    // not Linux
  }
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpuModel,
    cores: availableParallelism(),
    loadAverage: { start: round(loadavg()[0]!, 2) },
  };
}

export function endLoad(facts: MachineFacts): void {
  facts.loadAverage.end = round(loadavg()[0]!, 2);
}

export async function writeResults(path: string, json: unknown, markdown: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(path.replace(/\.json$/, '.md'), markdown);
}

export function resultsPath(name: string): string {
  return join(REPO_ROOT, 'bench', 'results', `${name}.json`);
}

/** A markdown table. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function cpuTimes(): { idle: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { idle, total: v.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** The fraction of all cores busy over the next `ms` milliseconds (Linux); undefined elsewhere. */
export async function cpuBusy(ms = 500): Promise<number | undefined> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  if (a === undefined || b === undefined || b.total === a.total) return undefined;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}

/**
 * On a shared machine, waits (at most `maxMs`) until other work leaves the cores mostly idle
 * (`threshold`: fraction busy over half a second), so that a round of measurements does not
 * start in the middle of someone else's burst. Every round is still measured and reported.
 */
export async function waitIdle(threshold: number, maxMs: number): Promise<{ waitedMs: number; busy: number | undefined }> {
  const started = performance.now();
  for (;;) {
    const busy = await cpuBusy();
    const waitedMs = performance.now() - started;
    if (busy === undefined || busy < threshold || waitedMs >= maxMs) return { waitedMs: round(waitedMs, 0), busy: busy === undefined ? undefined : round(busy, 2) };
  }
}
