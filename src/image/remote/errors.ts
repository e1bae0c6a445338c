// Owns turning a registry's error answer (OCI Distribution's `{"errors":[{code,message}]}`)
// into a StrataError that says what failed and what to do.
import { StrataError } from '../../errors.js';
import type { HttpResponse } from './transport.js';

export function registryError(res: HttpResponse, body: Buffer, what: string, host: string): StrataError {
  let detail = '';
  try {
    const v = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    detail = (v.errors ?? []).map((e) => `${e.code ?? '?'}: ${e.message ?? ''}`).join('; ');
  } catch {
    detail = body.toString('utf8').slice(0, 200).trim();
  }
  const message = `${host}: ${what} failed with HTTP ${res.status}${detail ? ` (${detail})` : ''}`;
  if (res.status === 403) return new StrataError('AUTH_DENIED', message, { hint: 'the account may not do this in this repository; check its permissions' });
  if (res.status === 404 && /MANIFEST_UNKNOWN|NAME_UNKNOWN|not found/i.test(detail || 'not found')) {
    return new StrataError('MANIFEST_UNKNOWN', message, { hint: 'check the repository name and the tag or digest' });
  }
  return new StrataError('REGISTRY_ERROR', message, { detail: { status: res.status } });
}
