// Owns mounting a directory under disorderfs (Debian's FUSE file system that shuffles
// directory entries, from the reproducible-builds project) for the shuffle perturbation,
// and unmounting it. Unavailable tools or a refused mount are not errors: the caller falls
// back to strata's own readdir shuffle and says so in the report.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, rmdir } from 'node:fs/promises';
import { onPath } from './rebuild.js';

export interface Mount {
  path: string;
  unmount(): Promise<void>;
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** Mounts `source` shuffled at `mountpoint`; returns why not when it cannot. */
export async function mountShuffled(source: string, mountpoint: string): Promise<Mount | { unavailable: string }> {
  const disorderfs = onPath('disorderfs');
  const fusermount = onPath('fusermount3') ?? onPath('fusermount');
  if (disorderfs === undefined || fusermount === undefined) return { unavailable: 'disorderfs is not installed' };
  await mkdir(mountpoint, { recursive: true });
  const r = await run(disorderfs, ['--shuffle-dirents=yes', '--reverse-dirents=no', '-o', 'ro', source, mountpoint]);
  if (r.code !== 0) {
    await rmdir(mountpoint).catch(() => undefined);
    return { unavailable: `disorderfs could not mount (${r.stderr.trim().split('\n')[0] || `exit ${r.code}`})` };
  }
  // Interrupted (Ctrl-C, a CI timeout): unmount before going, or the mount outlives strata.
  const onSignal = (signal: NodeJS.Signals) => {
    spawnSync(fusermount, ['-u', '-z', mountpoint], { stdio: 'ignore' });
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    path: mountpoint,
    async unmount() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A mount still busy for a moment after its last reader exits: retry briefly.
      for (let i = 0; i < 20; i++) {
        const u = await run(fusermount, ['-u', mountpoint]);
        if (u.code === 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await rmdir(mountpoint).catch(() => undefined);
    },
  };
}
