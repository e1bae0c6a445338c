// Owns reading a spec file from disk (the I/O half of parse-spec) and locating its lockfile.
// Parsing needs the yaml library, whose loading costs about as much as a whole no-change
// rebuild's own work; a caller that keeps parsed specs (`strata build`, in the cache) passes
// a memo, and a spec seen before is then not parsed again.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { StrataError } from '../errors.js';
import { sha256Hex } from '../digest/sha256.js';
import { specTextSha256 } from './spec-digest.js';
import type { LoadedSpec, Spec } from './spec.js';

/** Parsed specs kept between runs, by a key that covers the text and the parser's code. */
export interface ParsedSpecMemo {
  get(key: string): Promise<Spec | undefined>;
  put(key: string, spec: Spec): Promise<void>;
}

/** The compiled modules whose code decides what a spec text parses to. */
const PARSER_MODULES = ['./parse-spec.js', './package-request.js', './spec.js', '../debian/relation.js', '../debian/version.js'];
let parserDigest: Promise<string> | undefined;

/** sha256 of the parser's own code, read once per process (the memo's owner adds strata's version). */
function parserIdentity(): Promise<string> {
  parserDigest ??= Promise.all(PARSER_MODULES.map((m) => readFile(new URL(m, import.meta.url)))).then((parts) => sha256Hex(Buffer.concat(parts)));
  return parserDigest;
}

export async function loadSpec(path: string, memo?: ParsedSpecMemo): Promise<LoadedSpec> {
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
  const key = memo === undefined ? undefined : sha256Hex(`${await parserIdentity()}\n${text}`);
  let spec = key === undefined ? undefined : await memo!.get(key);
  if (spec === undefined) {
    const { parseSpec } = await import('./parse-spec.js');
    spec = parseSpec(text, path);
    if (key !== undefined) await memo!.put(key, spec);
  }
  return { spec, path: abs, textSha256: specTextSha256(text) };
}

/** NAME.yaml → NAME.lock.json beside it. */
export function defaultLockfilePath(specPath: string): string {
  const name = basename(specPath).replace(/\.(ya?ml|json)$/, '');
  return join(dirname(specPath), `${name}.lock.json`);
}
