// Owns finding registry credentials the way the container ecosystem stores them, without
// ever printing a secret:
//   1. what the command line gave (--username with --password-stdin);
//   2. containers-auth.json(5): $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json,
//      then $XDG_CONFIG_HOME/containers/auth.json (~/.config/containers/auth.json);
//   3. Docker's $DOCKER_CONFIG/config.json (~/.docker/config.json).
// In each file a `credHelpers` entry for the registry wins, then an `auths` entry (keys may be
// `registry/namespace` prefixes, most specific first, or URLs like https://index.docker.io/v1/),
// then the file's `credsStore`. Helpers are run as `docker-credential-NAME get`, with the
// server on stdin, exactly as docker does.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../../errors.js';
import { DOCKER_HUB, type ImageReference } from './reference.js';

export type Credentials = { kind: 'basic'; username: string; password: string; source: string } | { kind: 'identity-token'; token: string; source: string };

export interface CredentialOptions {
  /** From the command line; wins over every file. */
  explicit?: { username: string; password: string };
  env?: NodeJS.ProcessEnv;
  /** Runs a credential helper (tests may replace it); default: spawn docker-credential-NAME. */
  runHelper?: (name: string, server: string) => Promise<{ Username: string; Secret: string } | undefined>;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The files to read, in containers-auth.json(5)'s order, then Docker's. */
export function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  else {
    if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
    files.push(join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'containers', 'auth.json'));
  }
  files.push(join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'config.json'));
  return files;
}

/** The keys an `auths` map may use for this image, most specific first. */
export function authKeys(ref: Pick<ImageReference, 'registry' | 'repository'>): string[] {
  const keys: string[] = [];
  const parts = ref.repository.split('/');
  for (let i = parts.length; i >= 1; i--) keys.push(`${ref.registry}/${parts.slice(0, i).join('/')}`);
  keys.push(ref.registry, `https://${ref.registry}`, `http://${ref.registry}`, `https://${ref.registry}/v1/`, `https://${ref.registry}/v2/`);
  if (ref.registry === DOCKER_HUB) keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

/** The server name a credential helper is asked about (Docker Hub's is its v1 URL). */
function helperServer(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new StrataError('IO_ERROR', `cannot read the credentials file ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const parsed = JSON.parse(text) as AuthFile;
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch (e) {
    throw new StrataError('AUTH_CONFIG_INVALID', `${path} is not valid JSON: ${(e as Error).message}`, { hint: 'fix the file, or name another with REGISTRY_AUTH_FILE' });
  }
}

/** Runs `docker-credential-NAME get` with the server on stdin; undefined when it has none. */
export function runCredentialHelper(name: string, server: string, env: NodeJS.ProcessEnv = process.env): Promise<{ Username: string; Secret: string } | undefined> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (e) =>
      reject(
        new StrataError('AUTH_HELPER_FAILED', `cannot run the credential helper ${program}: ${e.message}`, {
          hint: `install ${program}, or remove it from credHelpers/credsStore in your Docker config`,
        }),
      ),
    );
    child.on('close', (code) => {
      const out = stdout.trim();
      if (code !== 0) {
        // docker's helpers say "credentials not found in native keychain" for an unknown server.
        if (/not found/i.test(out + stderr)) return resolve(undefined);
        return reject(new StrataError('AUTH_HELPER_FAILED', `${program} get exited with ${code}: ${(out || stderr).trim().slice(0, 200)}`));
      }
      try {
        const v = JSON.parse(out) as { Username?: unknown; Secret?: unknown };
        if (typeof v.Username !== 'string' || typeof v.Secret !== 'string') throw new Error('no Username/Secret');
        resolve({ Username: v.Username, Secret: v.Secret });
      } catch (e) {
        reject(new StrataError('AUTH_HELPER_FAILED', `${program} get printed something that is not credentials (${(e as Error).message})`));
      }
    });
    child.stdin.end(server);
  });
}

function fromHelper(result: { Username: string; Secret: string }, source: string): Credentials {
  // Docker's convention: the user name "<token>" means the secret is an identity token.
  if (result.Username === '<token>') return { kind: 'identity-token', token: result.Secret, source };
  return { kind: 'basic', username: result.Username, password: result.Secret, source };
}

/** Finds the credentials for an image's registry; undefined means "anonymous". */
export async function findCredentials(ref: Pick<ImageReference, 'registry' | 'repository'>, options: CredentialOptions = {}): Promise<Credentials | undefined> {
  if (options.explicit !== undefined) return { kind: 'basic', ...options.explicit, source: 'the command line' };
  const env = options.env ?? process.env;
  const helper = options.runHelper ?? ((name: string, server: string) => runCredentialHelper(name, server, env));
  const keys = authKeys(ref);
  for (const path of authFiles(env)) {
    const file = await readAuthFile(path);
    if (file === undefined) continue;
    const helperName = file.credHelpers?.[ref.registry] ?? (ref.registry === DOCKER_HUB ? file.credHelpers?.['index.docker.io'] : undefined);
    if (helperName !== undefined) {
      const r = await helper(helperName, helperServer(ref.registry));
      if (r !== undefined) return fromHelper(r, `docker-credential-${helperName} (credHelpers in ${path})`);
    }
    for (const key of keys) {
      const entry = file.auths?.[key];
      if (entry === undefined) continue;
      const source = `${path} (auths.${key})`;
      if (entry.identitytoken) return { kind: 'identity-token', token: entry.identitytoken, source };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw new StrataError('AUTH_CONFIG_INVALID', `${source}: "auth" is not base64 of USER:PASSWORD`);
        return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
      }
      if (entry.username !== undefined && entry.password !== undefined) return { kind: 'basic', username: entry.username, password: entry.password, source };
    }
    if (file.credsStore) {
      const r = await helper(file.credsStore, helperServer(ref.registry));
      if (r !== undefined) return fromHelper(r, `docker-credential-${file.credsStore} (credsStore in ${path})`);
    }
  }
  return undefined;
}
