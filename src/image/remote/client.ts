// Owns a conversation with one registry (OCI Distribution): the `GET /v2/` ping that reveals
// how it authenticates, then Basic auth or the bearer-token flow (docker's token spec: a GET
// to the challenge's realm with service and scopes, Basic credentials when there are some,
// or an OAuth2 refresh-token POST for an identity token), one cached token per set of
// scopes, renewed before it expires or when the registry answers 401. Secrets go only into
// Authorization headers, never into messages.
import { StrataError } from '../../errors.js';
import { parseChallenges, parseTokenAnswer, type Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { drain, readBody, Transport, type HttpRequest, type HttpResponse, type TransportOptions } from './transport.js';

export interface ClientOptions extends TransportOptions {
  credentials?: Credentials;
}

/** `repository:NAME:ACTIONS`, the scope syntax of docker's token spec. */
export function repositoryScope(repository: string, actions: Array<'pull' | 'push'>): string {
  return `repository:${repository}:${actions.join(',')}`;
}

export class RegistryClient {
  readonly host: string;
  readonly base: string;
  readonly transport: Transport;
  private readonly credentials: Credentials | undefined;
  private challenge: Challenge | undefined | null = null; // null: not pinged yet
  private readonly tokens = new Map<string, { header: string; expires: number }>();
  private now: () => number = () => Date.now();

  constructor(host: string, options: ClientOptions = {}) {
    this.host = host;
    this.transport = new Transport(options);
    this.base = `${this.transport.scheme}://${host}`;
    this.credentials = options.credentials;
  }

  /** Where credentials came from, for messages (never the secret). */
  get credentialSource(): string | undefined {
    return this.credentials?.source;
  }

  url(path: string): string {
    return new URL(path, this.base).toString();
  }

  private async ping(): Promise<void> {
    if (this.challenge !== null) return;
    const res = await this.transport.request({ method: 'GET', url: this.url('/v2/') });
    await drain(res);
    if (res.status === 401) {
      const all = parseChallenges(res.headers['www-authenticate']);
      this.challenge = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
      if (this.challenge === undefined) throw new StrataError('REGISTRY_ERROR', `${this.host} asks for authentication (401) in a way strata does not know: ${String(res.headers['www-authenticate'])}`);
    } else if (res.status === 200 || res.status === 404) {
      this.challenge = undefined; // 404: not every proxy serves /v2/; requests will tell
    } else {
      throw new StrataError('REGISTRY_ERROR', `${this.host} answered GET /v2/ with HTTP ${res.status}`, { hint: 'is this an OCI registry? check the address and the port' });
    }
  }

  private async authorization(scopes: string[], renew: boolean): Promise<string | undefined> {
    const c = this.challenge;
    if (c === undefined || c === null) return undefined;
    if (c.scheme === 'basic') {
      if (this.credentials?.kind !== 'basic') throw this.authRequired();
      return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    }
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    if (!renew && cached !== undefined && cached.expires > this.now()) return cached.header;
    const realm = c.params.realm;
    if (realm === undefined) throw new StrataError('REGISTRY_ERROR', `${this.host}'s bearer challenge names no realm`);
    const url = new URL(realm);
    if (c.params.service !== undefined) url.searchParams.set('service', c.params.service);
    let req: HttpRequest;
    if (this.credentials?.kind === 'identity-token') {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.credentials.token, client_id: 'strata' });
      if (c.params.service !== undefined) form.set('service', c.params.service);
      form.set('scope', scopes.join(' '));
      req = { method: 'POST', url: realm, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) };
    } else {
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (this.credentials?.kind === 'basic') headers.Authorization = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
      req = { method: 'GET', url: url.toString(), headers };
    }
    const res = await this.transport.request(req);
    const body = await readBody(res, 1 << 20);
    if (res.status === 401 || res.status === 403) {
      throw this.credentials === undefined
        ? this.authRequired()
        : new StrataError('AUTH_DENIED', `the token server of ${this.host} refused the credentials from ${this.credentials.source} (HTTP ${res.status})`, {
            hint: 'check the user name and password (or token), e.g. with `docker login`',
          });
    }
    if (res.status !== 200) throw new StrataError('REGISTRY_ERROR', `the token server of ${this.host} answered HTTP ${res.status}`);
    const answer = parseTokenAnswer(body, `${url.origin}${url.pathname}`);
    const header = `Bearer ${answer.token}`;
    // Renew ten seconds early (or at half-life for short tokens).
    this.tokens.set(key, { header, expires: this.now() + Math.max(answer.expiresIn - 10, answer.expiresIn / 2) * 1000 });
    return header;
  }

  private authRequired(): StrataError {
    return new StrataError('AUTH_REQUIRED', `${this.host} asks for credentials, and none were found for it`, {
      hint: 'log in with `docker login` or `podman login` (strata reads their files), or pass --username and --password-stdin',
    });
  }

  /** Sends a request with the authorization the scopes need; one renewal on a 401. */
  async fetch(req: Omit<HttpRequest, 'url'> & { path: string }, scopes: string[], retry = true): Promise<HttpResponse> {
    await this.ping();
    const send = async (renew: boolean) => {
      const auth = await this.authorization(scopes, renew);
      const headers = { ...(req.headers ?? {}) };
      if (auth !== undefined) headers.Authorization = auth;
      const r: HttpRequest = { method: req.method, url: this.url(req.path), headers };
      if (req.body !== undefined) r.body = req.body;
      return retry ? this.transport.request(r) : this.transport.once(r);
    };
    let res = await send(false);
    if (res.status === 401) {
      await drain(res);
      // The registry may have changed its mind about the scheme (or the token expired).
      const all = parseChallenges(res.headers['www-authenticate']);
      const c = all.find((x) => x.scheme === 'bearer') ?? all.find((x) => x.scheme === 'basic');
      const hadAuth = this.challenge !== undefined;
      if (c !== undefined) this.challenge = c;
      if (this.challenge === undefined || this.challenge === null) throw new StrataError('REGISTRY_ERROR', `${this.host} answered 401 without a challenge`);
      if (hadAuth && this.challenge.scheme === 'basic') throw this.denied(req.path);
      res = await send(true);
      if (res.status === 401) {
        await drain(res);
        throw this.credentials === undefined ? this.authRequired() : this.denied(req.path);
      }
    }
    return res;
  }

  private denied(path: string): StrataError {
    if (this.credentials === undefined) return this.authRequired();
    return new StrataError('AUTH_DENIED', `${this.host} refused the credentials from ${this.credentials.source} for ${path}`, {
      hint: 'check the user name and password (or token), and that the account may push to this repository',
    });
  }
}
