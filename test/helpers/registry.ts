// Runs a real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1,
// with filesystem storage in a temporary directory, and optionally htpasswd auth (bcrypt,
// made with apache2-utils' htpasswd), bearer-token auth against a token server that the test
// runs (tokens are RS256 JWTs whose x5c certificate the registry trusts), and TLS with a test
// CA (openssl). Everything listens on loopback and stops when the test ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createPrivateKey, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './temp.js';

export interface RegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  tls?: boolean;
  users?: Record<string, string>;
  /** Token server policy: which actions a user gets on a repository (default: all asked). */
  grant?: (user: string | undefined, repository: string, actions: string[]) => string[];
}

export interface RunningRegistry {
  /** host:port, as a reference writes it. */
  host: string;
  storage: string;
  /** The CA certificate file that signed the registry's certificate (tls only). */
  caCert?: string;
  token?: TokenServer;
  stop(): Promise<void>;
}

export interface TokenServer {
  url: string;
  /** Every token request: the user (from Basic auth) and the scopes asked. */
  requests: Array<{ user: string | undefined; scopes: string[]; service: string | undefined }>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A test CA and a certificate for 127.0.0.1 and localhost signed by it. */
export async function makeTlsFiles(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=strata test CA'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext'], dir);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

function htpasswd(users: Record<string, string>): string {
  return Object.entries(users)
    .map(([u, p]) => {
      const r = spawnSync('htpasswd', ['-nbB', u, p], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`htpasswd failed (install apache2-utils): ${r.stderr}`);
      return r.stdout.trim();
    })
    .join('\n');
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

async function startTokenServer(dir: string, service: string, users: Record<string, string>, grant: RegistryOptions['grant']): Promise<TokenServer & { certFile: string }> {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.crt', '-days', '2', '-subj', '/CN=strata test token issuer'], dir);
  const key = createPrivateKey(await readFile(join(dir, 'token.key')));
  const der = new X509Certificate(await readFile(join(dir, 'token.crt'))).raw;
  const requests: TokenServer['requests'] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (users[u!] === undefined || users[u!] !== p.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ user, scopes, service: url.searchParams.get('service') ?? undefined });
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':');
      if (type !== 'repository' || name === undefined || actions === undefined) return [];
      const asked = actions.split(',');
      const given = grant ? grant(user, name, asked) : user === undefined ? [] : asked;
      return given.length > 0 ? [{ type, name, actions: given }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] }));
    const claims = b64url(JSON.stringify({ iss: 'strata-test-issuer', sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key);
    const token = `${header}.${claims}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  };
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests,
    certFile: join(dir, 'token.crt'),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Starts docker-registry; stop() kills it (and the token server). */
export async function startRegistry(t: { after: (fn: () => unknown) => void }, options: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = await tempDir(t, 'strata-registry-');
  const port = await freePort();
  const users = options.users ?? { alice: 'wonderland' };
  const config: string[] = ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'storage')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`];
  let caCert: string | undefined;
  if (options.tls) {
    const tls = await makeTlsFiles(dir);
    caCert = tls.ca;
    config.push('  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`);
  }
  let token: (TokenServer & { certFile: string }) | undefined;
  if (options.auth === 'htpasswd') {
    await writeFile(join(dir, 'htpasswd'), `${htpasswd(users)}\n`);
    config.push('auth:', '  htpasswd:', '    realm: strata-test', `    path: ${join(dir, 'htpasswd')}`);
  } else if (options.auth === 'token') {
    token = await startTokenServer(dir, 'strata-test-registry', users, options.grant);
    config.push('auth:', '  token:', `    realm: ${token.url}`, '    service: strata-test-registry', '    issuer: strata-test-issuer', `    rootcertbundle: ${token.certFile}`);
  }
  await writeFile(join(dir, 'config.yml'), `${config.join('\n')}\n`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let exited = false;
  child.on('exit', () => (exited = true));
  const stop = async () => {
    await token?.close();
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  };
  t.after(stop);
  const deadline = Date.now() + 15000;
  for (;;) {
    if (exited) throw new Error(`docker-registry exited: ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const out: RunningRegistry = { host: `127.0.0.1:${port}`, storage: join(dir, 'storage'), stop };
  if (caCert !== undefined) out.caCert = caCert;
  if (token !== undefined) out.token = token;
  return out;
}
