// Owns reading `WWW-Authenticate` challenges (RFC 7235, as registries send them:
// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`
// or `Basic realm="…"`) and the token server's answer (docker's token spec: `token` or
// `access_token`, optional `expires_in`). Pure.
import { StrataError } from '../../errors.js';

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses every challenge of a header value; unknown schemes are skipped. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  let i = 0;
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const token = () => {
    const start = i;
    while (i < text.length && /[A-Za-z0-9_.~+/!#$%&'*^`|-]/.test(text[i]!) && text[i] !== '=') i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    while (i < text.length && (text[i] === ' ' || text[i] === ',')) i++;
    const scheme = token().toLowerCase();
    if (scheme === '') break;
    const params: Record<string, string> = {};
    for (;;) {
      space();
      const mark = i;
      const name = token();
      space();
      if (name === '' || text[i] !== '=') {
        i = mark; // the next challenge's scheme
        break;
      }
      i++;
      space();
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          value += text[i++];
        }
        i++;
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== ' ') i++;
        value = text.slice(start, i);
      }
      params[name.toLowerCase()] = value;
      space();
      if (text[i] === ',') i++;
    }
    if (scheme === 'basic' || scheme === 'bearer') out.push({ scheme, params });
  }
  return out;
}

export interface TokenAnswer {
  token: string;
  /** Seconds; docker's default is 60 when the server gives none. */
  expiresIn: number;
}

export function parseTokenAnswer(body: Buffer, realm: string): TokenAnswer {
  let v: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    v = JSON.parse(body.toString('utf8')) as typeof v;
  } catch {
    throw new StrataError('REGISTRY_ERROR', `the token server ${realm} answered with something that is not JSON`);
  }
  const token = typeof v.token === 'string' && v.token !== '' ? v.token : typeof v.access_token === 'string' ? v.access_token : undefined;
  if (token === undefined || token === '') throw new StrataError('REGISTRY_ERROR', `the token server ${realm} answered without a token`);
  const expiresIn = typeof v.expires_in === 'number' && v.expires_in > 0 ? v.expires_in : 60;
  return { token, expiresIn };
}
