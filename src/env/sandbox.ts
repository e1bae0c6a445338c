// Owns starting and supervising the sandbox: finding bubblewrap, checking that this host
// lets an ordinary process create user namespaces (and saying what to change when not),
// running bwrap with the plan's arguments, and passing everything through: stdin, stdout and
// stderr are the caller's own descriptors, the exit code is the command's (128 + N when a
// signal N ended it), and signals sent to strata reach the command.
//
// Signals: bwrap does not forward them, and its own supervising process dies of a Ctrl-C,
// which takes the sandbox with it (--die-with-parent). So a command gets a session of its own
// (bwrap starts detached) and strata forwards every signal to it — SIGINT, SIGQUIT, SIGTERM,
// SIGHUP, SIGUSR1/2 and SIGWINCH as they are; Ctrl-Z stops it (SIGSTOP) and then strata, and
// SIGCONT resumes both — found as the child of the sandbox's init, whose pid bwrap reports on
// --json-status-fd. The one exception is an interactive shell on a terminal: it shares
// strata's session and runs job control, taking the terminal for itself and its jobs, so
// Ctrl-C and Ctrl-Z reach them from the terminal directly and programs can open /dev/tty.
// (A command with its own session has no controlling terminal: it reads and writes the
// terminal through its descriptors, but cannot open /dev/tty.) Nothing outlives the command:
// the sandbox has its own pid namespace, which the kernel empties when its init exits, and
// --die-with-parent ends it if strata itself is killed.
import { spawn } from 'node:child_process';
import { constants as fsConstants, accessSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { StrataError } from '../errors.js';

/** bwrap reports the sandbox's pid and exit on this descriptor. */
export const STATUS_FD = 3;
/** Descriptor of the i-th data file (--ro-bind-data). */
export const dataFd = (i: number) => 4 + i;

export const INSTALL_HINT = 'install bubblewrap: `apt-get install bubblewrap` (Debian, Ubuntu), `dnf install bubblewrap` (Fedora), `apk add bubblewrap` (Alpine)';

/** The bwrap on PATH, or a SANDBOX_UNAVAILABLE error naming the package to install. */
export function findBwrap(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'bwrap');
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new StrataError('SANDBOX_UNAVAILABLE', 'bubblewrap (bwrap) is not installed: strata runs environments in an unprivileged bubblewrap sandbox', { hint: INSTALL_HINT });
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Refuses early, with what to change, when this host does not let this process create a
 * user namespace. A setuid bwrap does not need one.
 */
export function checkUserNamespaces(bwrap: string, uid = process.getuid?.() ?? 0): void {
  try {
    if ((statSync(bwrap).mode & 0o4000) !== 0) return;
  } catch {
    // fall through to the checks
  }
  const hint = 'environments need unprivileged user namespaces (docs/environments.md, "Requirements")';
  if (readSysctl('/proc/sys/user/max_user_namespaces') === '0') {
    throw new StrataError('SANDBOX_UNAVAILABLE', 'this host allows no user namespaces (/proc/sys/user/max_user_namespaces is 0), and the sandbox needs one', {
      hint: `as root: \`sysctl -w user.max_user_namespaces=15000\` (or ask the machine's administrator); ${hint}`,
    });
  }
  if (uid !== 0 && readSysctl('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
    throw new StrataError('SANDBOX_UNAVAILABLE', 'this host does not let ordinary users create user namespaces (kernel.unprivileged_userns_clone is 0)', {
      hint: `as root: \`sysctl -w kernel.unprivileged_userns_clone=1\`; ${hint}`,
    });
  }
  if (uid !== 0 && readSysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1' && !bwrapProfileLikely()) {
    throw new StrataError('SANDBOX_UNAVAILABLE', 'AppArmor restricts unprivileged user namespaces on this host (kernel.apparmor_restrict_unprivileged_userns is 1) and bwrap has no profile that allows them', {
      hint: `install the bwrap profile (Ubuntu: \`apt-get install apparmor-profiles\`, then load bwrap-userns-restrict), or as root \`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0\`; ${hint}`,
    });
  }
}

function bwrapProfileLikely(): boolean {
  for (const p of ['/etc/apparmor.d/bwrap-userns-restrict', '/etc/apparmor.d/bwrap']) {
    try {
      statSync(p);
      return true;
    } catch {
      // not installed
    }
  }
  return false;
}

/** The pid (in strata's namespace) of the command: the child of the sandbox's init. */
function commandPid(initPid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '');
    return children.length > 0 ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

export interface SandboxRun {
  bwrap: string;
  /** bwrap's arguments before `--` (sandbox-plan.ts). */
  args: string[];
  argv: string[];
  /** The command's whole environment. */
  env: Record<string, string>;
  /** Contents of the --ro-bind-data descriptors, in dataFd order. */
  data: Buffer[];
  /** An interactive shell on a terminal: it shares strata's session and does its own job control. */
  sharedTerminal: boolean;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGTSTP', 'SIGCONT'];
/** With a shared terminal these come from it, to the shell's foreground job: not forwarded. */
const FROM_TERMINAL: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGWINCH', 'SIGTSTP', 'SIGCONT'];

/** Runs the sandbox and resolves with the command's exit code. */
export function runSandbox(run: SandboxRun): Promise<number> {
  return new Promise((resolve, reject) => {
    const stdio: Array<'inherit' | 'pipe'> = ['inherit', 'inherit', 'inherit', 'pipe', ...run.data.map(() => 'pipe' as const)];
    const child = spawn(run.bwrap, ['--json-status-fd', String(STATUS_FD), ...run.args, '--', ...run.argv], {
      stdio,
      env: run.env,
      detached: !run.sharedTerminal,
    });
    let initPid: number | undefined;
    let status = '';
    const pending: NodeJS.Signals[] = [];
    const deliver = (sig: NodeJS.Signals): boolean => {
      const pid = initPid === undefined ? undefined : commandPid(initPid);
      if (pid === undefined) return false;
      try {
        process.kill(pid, sig);
      } catch {
        // it has just exited
      }
      return true;
    };
    const onSignal = (sig: NodeJS.Signals) => {
      if (run.sharedTerminal && FROM_TERMINAL.includes(sig)) return; // the terminal sent it to the shell's job
      if (sig === 'SIGTSTP') {
        // The command's process group is orphaned, where SIGTSTP does nothing: stop it, then us.
        deliver('SIGSTOP');
        process.kill(process.pid, 'SIGSTOP');
        return;
      }
      if (!deliver(sig)) pending.push(sig);
    };
    const handlers = FORWARDED.map((sig) => {
      const h = () => onSignal(sig);
      process.on(sig, h);
      return [sig, h] as const;
    });
    const retry = setInterval(() => {
      while (pending.length > 0 && deliver(pending[0]!)) pending.shift();
    }, 20);
    const cleanup = () => {
      clearInterval(retry);
      for (const [sig, h] of handlers) process.off(sig, h);
    };
    const statusStream = child.stdio[STATUS_FD] as NodeJS.ReadableStream;
    statusStream.setEncoding('utf8');
    statusStream.on('data', (s: string) => {
      status += s;
      const m = /"child-pid"\s*:\s*(\d+)/.exec(status);
      if (m !== null && initPid === undefined) initPid = Number(m[1]);
    });
    statusStream.on('error', () => undefined);
    run.data.forEach((content, i) => {
      const s = child.stdio[dataFd(i)] as NodeJS.WritableStream;
      s.on('error', () => undefined);
      s.end(content);
    });
    child.on('error', (e) => {
      cleanup();
      reject(new StrataError('SANDBOX_UNAVAILABLE', `cannot start ${run.bwrap}: ${e.message}`, { hint: INSTALL_HINT, cause: e }));
    });
    // 'close', not 'exit': the status descriptor must be read to its end first.
    child.on('close', (code, signal) => {
      cleanup();
      if (initPid === undefined && !/"child-pid"/.test(status) && code !== 0) {
        reject(
          new StrataError('SANDBOX_UNAVAILABLE', `the sandbox did not start (bwrap exited with ${code ?? signal}; its message is above)`, {
            hint: 'bwrap could not create its namespaces: check that this host allows unprivileged user namespaces (docs/environments.md, "Requirements")',
          }),
        );
        return;
      }
      resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0));
    });
  });
}
