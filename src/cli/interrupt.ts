// Owns what happens when a command is interrupted (Ctrl-C, SIGTERM): the temporary files this
// process was writing are removed — its private files in the cache's tmp/ and the hidden
// temporary siblings of an output — and strata exits 130 (SIGINT) or 143 (SIGTERM), so an
// interrupted build leaves neither a half-written image nor debris. Commands that supervise
// children themselves (shell, run, serve) install their own handlers instead.
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const cleanups = new Set<() => void>();
let installed = false;

/** Registers a synchronous cleanup to run on interrupt; returns its removal. */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Removes the files in DIR whose names carry this process's id, as strata's temporary names do. */
export function removeOwnTempFiles(dir: string, prefix = ''): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const marker = `.${process.pid}.`;
  for (const name of names) {
    if (name.startsWith(prefix) && name.includes(marker)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** Cleans the hidden temporary siblings (`.NAME.PID.…`) an output path gets while written. */
export function cleanOutputOnInterrupt(path: string): () => void {
  return onInterrupt(() => removeOwnTempFiles(dirname(path), `.${basename(path)}.`));
}

export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  const handle = (code: number) => () => {
    for (const fn of cleanups) {
      try {
        fn();
      } catch {
        // best effort: the exit below matters more
      }
    }
    process.stderr.write('\ninterrupted; temporary files removed\n');
    process.exit(code);
  };
  process.once('SIGINT', handle(130));
  process.once('SIGTERM', handle(143));
}
