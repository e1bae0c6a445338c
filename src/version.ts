// Owns strata's own version, read once from package.json. Images record it (a different
// strata may write different bytes), so it is part of every build's identity.
import { readFileSync } from 'node:fs';

function read(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const STRATA_VERSION = read();
