// Owns the facts about this machine that an environment depends on: its Debian architecture
// (environments run here, so a spec's other architectures do not apply) and who is invoking
// strata (the shell keeps their uid, gid, name and home path).
import { userInfo } from 'node:os';
import { StrataError } from '../errors.js';

/** Node's process.arch → the Debian architecture name. */
const DEBIAN_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'armhf',
  ia32: 'i386',
  ppc64: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips64el: 'mips64el',
};

export function hostArchitecture(arch: string = process.arch): string {
  const debian = DEBIAN_ARCH[arch];
  if (debian === undefined) throw new StrataError('SANDBOX_UNAVAILABLE', `this machine's architecture (${arch}) has no Debian name that strata knows`);
  return debian;
}

export interface Invoker {
  uid: number;
  gid: number;
  name: string;
  home: string;
}

/** The invoking user; a uid without a passwd entry gets a made-up name and $HOME (or /). */
export function invoker(env: NodeJS.ProcessEnv = process.env): Invoker {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  try {
    const u = userInfo();
    return { uid, gid, name: u.username, home: env.HOME && env.HOME.startsWith('/') ? env.HOME : u.homedir || '/' };
  } catch {
    return { uid, gid, name: `user${uid}`, home: env.HOME && env.HOME.startsWith('/') ? env.HOME : '/' };
  }
}
