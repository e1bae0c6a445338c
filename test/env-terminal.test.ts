// Environments as people use them: an interactive `strata shell` driven through tmux (on a
// private tmux socket), signals sent to strata reaching the command with nothing left
// running afterwards, Ctrl-C on a terminal, and all of it as an ordinary user that the test
// creates (useradd; removed afterwards) as well as root, and on a host without user
// namespaces (a user namespace whose max_user_namespaces is 0, made with unshare).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CLI, REPO_ROOT, runCli, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { startEnvArchive, type EnvArchive } from './helpers/env-fixture.js';

let work: string;
let fixture: EnvArchive;
let cache: string;
let home: string;

const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function baseEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', STRATA_APT_ETC: fixture.aptEtc, STRATA_CACHE_DIR: cache, HOME: home };
}

/** Polls until `fn` returns a value, or fails after `ms` with what was last seen. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  work = await tempDir(undefined, 'strata-envterm-');
  await chmod(work, 0o755); // the unprivileged user reads the archive key and the apt directory
  fixture = await startEnvArchive(work);
  cache = join(work, 'cache');
  home = join(work, 'home');
  await mkdir(home);
  // Warm the cache once: the tests below then measure behaviour, not downloads.
  const r = await runCli(['shell', 'fixtool', '--', 'fixtool'], { env: baseEnv(), cwd: work });
  assert.equal(r.code, 0, show(r));
});

after(async () => {
  await fixture?.server.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('an interactive shell in tmux', () => {
  const socket = `strata-test-${randomBytes(4).toString('hex')}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  after(() => {
    tmux('kill-server');
  });

  async function session(name: string, command: string): Promise<{ pane: () => string; status: () => Promise<string | undefined> }> {
    const statusFile = join(work, `${name}.status`);
    const env = Object.entries(baseEnv())
      .filter(([k]) => ['STRATA_APT_ETC', 'STRATA_CACHE_DIR', 'HOME', 'NO_COLOR', 'PATH'].includes(k))
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    const r = tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '40', `cd '${work}' && env ${env} TERM=xterm '${process.execPath}' '${CLI}' ${command}; echo $? > '${statusFile}'; sleep 30`);
    assert.equal(r.status, 0, `tmux new-session: ${r.stderr}`);
    return {
      pane: () => tmux('capture-pane', '-p', '-t', name).stdout,
      status: async () => {
        try {
          return (await readFile(statusFile, 'utf8')).trim();
        } catch {
          return undefined;
        }
      },
    };
  }

  test('the prompt names the environment, a command runs, Ctrl-C stops a job and the shell stays, `exit 7` returns 7', async () => {
    const s = await session('shell', 'shell fixtool');
    await until('the prompt', async () => (/\(strata:fixtool\)/.test(s.pane()) ? true : undefined));
    tmux('send-keys', '-t', 'shell', 'echo answer-$((6*7)); fixtool hi', 'Enter');
    await until('the output', async () => (/answer-42\nfixtool 2\.0: hi|answer-42\nfixtool 1\.0: hi/.test(s.pane()) ? true : undefined));
    tmux('send-keys', '-t', 'shell', 'while :; do read -t 0.1 x; done', 'Enter');
    await sleep(300);
    tmux('send-keys', '-t', 'shell', 'C-c');
    tmux('send-keys', '-t', 'shell', 'echo still-here', 'Enter');
    await until('the shell after Ctrl-C', async () => (/^still-here$/m.test(s.pane()) ? true : undefined));
    tmux('send-keys', '-t', 'shell', 'exit 7', 'Enter');
    assert.equal(await until('the exit status', s.status), '7', s.pane());
  });

  test('Ctrl-C on a terminal reaches a command, which handles it and chooses the exit code', async () => {
    const s = await session('command', `shell fixtool -- bash -c 'trap "echo got-INT; exit 5" INT; echo ready; while :; do read -t 0.1 x; done'`);
    await until('ready', async () => (/^ready$/m.test(s.pane()) ? true : undefined));
    tmux('send-keys', '-t', 'command', 'C-c');
    assert.equal(await until('the exit status', s.status), '5', s.pane());
    assert.match(s.pane(), /got-INT/);
  });
});

describe('signals without a terminal', () => {
  async function started(signal: NodeJS.Signals, marker: string): Promise<{ code: number | null; stdout: string }> {
    const script = `trap "echo got-TERM; exit 6" TERM; echo ready; while :; do read -t 0.1 x; done # ${marker}`;
    const child = spawn(process.execPath, [CLI, 'shell', 'fixtool', '--', 'bash', '-c', script], { cwd: work, env: baseEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await until('ready', async () => (stdout.includes('ready') ? true : undefined));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await done;
    clearTimeout(timer);
    return { code, stdout };
  }

  const running = (marker: string) => spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));

  test('SIGTERM sent to strata reaches the command, whose exit code strata returns', async () => {
    const marker = `marker-${randomBytes(4).toString('hex')}`;
    const r = await started('SIGTERM', marker);
    assert.equal(r.code, 6, r.stdout);
    assert.match(r.stdout, /got-TERM/);
    assert.deepEqual(running(marker), [], 'nothing is left running');
  });

  test('SIGINT ends a command that does not handle it: 130, and nothing is left running', async () => {
    const marker = `marker-${randomBytes(4).toString('hex')}`;
    const r = await started('SIGINT', marker);
    assert.equal(r.code, 130, r.stdout);
    assert.deepEqual(running(marker), []);
  });

  test('a background process the command leaves behind is ended with it', async () => {
    const marker = `marker-${randomBytes(4).toString('hex')}`;
    const r = await runCli(['shell', 'fixtool', '--', 'bash', '-c', `(exec -a ${marker} bash -c 'while :; do read -t 1 x; done' </dev/null >/dev/null 2>&1 &) ; echo started`], { env: baseEnv(), cwd: work });
    assert.equal(r.code, 0, show(r));
    await sleep(200);
    assert.deepEqual(running(marker), [], 'the pid namespace took the orphan with it');
  });
});

describe('as an ordinary user', { skip: isRoot ? false : 'needs root to create a user' }, () => {
  const user = `strata-t${randomBytes(3).toString('hex')}`;
  let uid: number;
  let gid: number;
  let userCache: string;
  let userDir: string;

  before(() => {
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { encoding: 'utf8' });
    assert.equal(r.status, 0, `useradd: ${r.stderr}`);
    const id = spawnSync('id', ['-u', user], { encoding: 'utf8' });
    uid = Number(id.stdout.trim());
    gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
  });
  after(() => {
    spawnSync('userdel', [user]);
  });

  function asUser(args: string[], cwd: string): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', STRATA_APT_ETC: fixture.aptEtc, STRATA_CACHE_DIR: userCache, HOME: userDir };
      const child = spawn('runuser', ['-u', user, '--', process.execPath, CLI, ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end('');
    });
  }

  test('strata shell works unprivileged: the files it writes are the user\'s, the cache is the user\'s, exit codes pass', async () => {
    userDir = join(work, 'user-home');
    userCache = join(work, 'user-cache');
    for (const d of [userDir, userCache]) {
      await mkdir(d);
      await chown(d, uid, gid);
    }
    const r = await asUser(['shell', 'fixtool', '--', 'bash', '-c', 'echo mine > mine.txt; echo "$UID $USER"; fixtool x; exit 3'], userDir);
    assert.equal(r.code, 3, show(r));
    assert.match(r.stdout, new RegExp(`^${uid} ${user}\\nfixtool [12]\\.0: x\\n$`));
    const st = await stat(join(userDir, 'mine.txt'));
    assert.deepEqual([st.uid, st.gid], [uid, gid]);
    const layers = join(userCache, 'rootfs', 'layers');
    const first = (await readdir(layers))[0]!;
    assert.equal((await lstat(join(layers, first))).uid, uid, 'an ordinary user\'s unpacked layers are its own');
    const ls = await asUser(['cache', 'gc', '--all'], userDir);
    assert.equal(ls.code, 0, show(ls));
    assert.deepEqual(await readdir(layers), [], 'and it can free them');
  });

  test('strata run works unprivileged: the image\'s user writes to a volume, and the files are the invoking user\'s', async () => {
    const spec = join(work, 'app.yaml');
    await writeFile(
      spec,
      `source:\n  mirror: ${fixture.server.url}\n  suites: [fixture]\n  keyring: ${fixture.archive.keyring}\npackages: [fixtool, bash]\n` +
        'accounts:\n  groups: [{name: app, gid: 10001}]\n  users: [{name: app, uid: 10001, gid: 10001, home: /app}]\n  run-as: app\nworkdir: /\n',
    );
    const locked = await runCli(['lock', spec], { env: baseEnv(), cwd: work });
    assert.equal(locked.code, 0, show(locked));
    await chmod(join(work, 'app.lock.json'), 0o644);
    const data = join(userDir, 'data');
    await mkdir(data);
    await chown(data, uid, gid);
    const r = await asUser(['run', spec, '--volume', `${data}:/data`, '--', 'bash', '-c', 'echo "$UID" > /data/who; echo done'], userDir);
    assert.equal(r.code, 0, show(r));
    assert.equal(await readFile(join(data, 'who'), 'utf8'), '10001\n', 'inside, the image\'s user');
    const st = await stat(join(data, 'who'));
    assert.deepEqual([st.uid, st.gid], [uid, gid], 'outside, the invoking user');
  });
});

test('on a host without user namespaces, the message says what to change', { skip: spawnSync('unshare', ['--version']).status === 0 ? false : 'needs unshare (util-linux)' }, async () => {
  // A user namespace whose own limit is 0 is a host without user namespaces, for what runs in it.
  const script = `echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"`;
  const r = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn('unshare', ['--user', '--map-root-user', 'sh', '-c', script, 'sh', process.execPath, CLI, 'shell', 'fixtool', '--', 'fixtool'], { cwd: work, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /error\[SANDBOX_UNAVAILABLE\]: this host allows no user namespaces/);
  assert.match(r.stderr, /max_user_namespaces/);
});

test('.ci/run installs every tool these tests drive', async () => {
  const ci = await readFile(join(REPO_ROOT, '.ci', 'run'), 'utf8');
  for (const pkg of ['tmux', 'bubblewrap', 'util-linux', 'passwd', 'procps', 'libc-bin']) assert.match(ci, new RegExp(`\\b${pkg}\\b`), `${pkg} is installed by .ci/run`);
});
