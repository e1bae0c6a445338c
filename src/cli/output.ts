// Owns everything the CLI prints: results on stdout (text or --json), errors and warnings
// on stderr, colour only on a TTY and never with NO_COLOR, and a progress line that is
// drawn only when stdout and stderr are both terminals (so pipes and CI logs stay clean).
import { StrataError, type ErrorCode } from '../errors.js';

export interface Output {
  readonly json: boolean;
  /** Prints a line of the human result on stdout. */
  line(text?: string): void;
  /** Prints a value as JSON on stdout. */
  data(value: unknown): void;
  warn(text: string): void;
  note(text: string): void;
  progress(text: string): void;
  progressDone(): void;
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
}

/** The one table that maps error codes to exit codes. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
      return 2;
    case 'NOT_REPRODUCIBLE':
      return 3;
    case 'COMMAND_NOT_FOUND':
      return 127; // what a shell returns for a command it cannot find
    default:
      return 1;
  }
}

export interface OutputStreams {
  stdout: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  stderr: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function createOutput(json: boolean, streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Output {
  const { stdout, stderr, env } = streams;
  const color = Boolean(stderr.isTTY && stdout.isTTY) && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
  const showProgress = Boolean(stdout.isTTY && stderr.isTTY) && !json && env.CI === undefined;
  const paint = (code: string) => (text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  let lastProgress = 0;
  let progressShown = false;
  const clear = () => {
    if (progressShown) {
      stderr.write('\r\u001b[2K');
      progressShown = false;
    }
  };
  return {
    json,
    line(text = '') {
      clear();
      if (!json) stdout.write(`${text}\n`);
    },
    data(value) {
      clear();
      stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    warn(text) {
      clear();
      stderr.write(`${paint('33')('warning:')} ${text}\n`);
    },
    note(text) {
      clear();
      if (!json) stderr.write(`${text}\n`);
    },
    progress(text) {
      if (!showProgress) return;
      const now = Date.now();
      if (now - lastProgress < 80) return;
      lastProgress = now;
      const width = Math.max(20, ((stderr as NodeJS.WriteStream).columns ?? 80) - 1);
      stderr.write(`\r\u001b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      progressShown = true;
    },
    progressDone: clear,
    bold: paint('1'),
    dim: paint('2'),
    green: paint('32'),
    red: paint('31'),
    yellow: paint('33'),
  };
}

/** Renders an error on stderr and returns the exit code. */
export function reportError(error: unknown, out: Output, streams: Pick<OutputStreams, 'stderr'> = { stderr: process.stderr }): number {
  out.progressDone();
  const e =
    error instanceof StrataError
      ? error
      : new StrataError('INTERNAL', `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, {
          hint: 'this is a bug in strata; please report it with the command you ran',
        });
  if (out.json) {
    streams.stderr.write(`${JSON.stringify({ error: e.toJSON() })}\n`);
  } else {
    streams.stderr.write(`${out.red('error')}[${e.code}]: ${e.message}\n`);
    if (e.hint !== undefined) streams.stderr.write(`  ${out.dim('hint:')} ${e.hint}\n`);
  }
  return exitCodeFor(e.code);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
