// Owns reading a spec file from disk (the I/O half of parse-spec) and locating its lockfile.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { StrataError } from '../errors.js';
import type { LoadedSpec } from './spec.js';

export async function loadSpec(path: string): Promise<LoadedSpec> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new StrataError('SPEC_NOT_FOUND', `${path}: no such file`, { hint: 'give the path of a spec such as examples/redis.yaml (see docs/spec.md)' });
    }
    if (code === 'EISDIR') throw new StrataError('SPEC_NOT_FOUND', `${path} is a directory, not a spec file`);
    throw new StrataError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  // Loaded here, not at the top: commands that only locate a spec's lockfile skip the YAML parser.
  const { parseSpec, specTextSha256 } = await import('./parse-spec.js');
  return { spec: parseSpec(text, path), path: abs, textSha256: specTextSha256(text) };
}

/** NAME.yaml → NAME.lock.json beside it. */
export function defaultLockfilePath(specPath: string): string {
  const name = basename(specPath).replace(/\.(ya?ml|json)$/, '');
  return join(dirname(specPath), `${name}.lock.json`);
}
