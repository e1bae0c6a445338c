// Starts a throw-away Ceph RADOS Gateway (a real S3 endpoint) on 127.0.0.1 for a test, with the
// start/stop scripts kept in test/tools/ceph-rgw/ (the team's shared Ceph RGW tool, copied into
// the repository so a fresh checkout has them; the Ceph packages come from .ci/run's apt-get
// line). Free ports are picked so that parallel runs do not collide.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

export const RGW_TOOL = join(REPO_ROOT, 'test', 'tools', 'ceph-rgw');

export interface Rgw {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

export async function startRgw(): Promise<Rgw> {
  // A short path: Ceph's unix sockets live under it.
  const base = await mkdtemp('/tmp/rgw-');
  const env = { CEPH_DIR: join(base, 'ceph'), WITH_MGR: '0', RGW_PORT: String(await freePort()), MON_PORT: String(await freePort()) };
  const stop = async () => {
    await bash(join(RGW_TOOL, 'stop.sh'), env);
    await rm(base, { recursive: true, force: true });
  };
  const started = await bash(join(RGW_TOOL, 'start.sh'), env);
  if (started.code !== 0) {
    await stop();
    throw new Error(`cannot start Ceph RGW with ${RGW_TOOL}/start.sh (install the ceph packages of .ci/run's apt-get line):\n${started.output.slice(-3000)}`);
  }
  const vars = Object.fromEntries((await readFile(join(env.CEPH_DIR, 's3.env'), 'utf8')).split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { endpoint: vars.S3_ENDPOINT!, accessKeyId: vars.S3_KEY!, secretAccessKey: vars.S3_SECRET!, stop };
}
