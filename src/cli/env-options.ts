// Owns what `strata shell` and `strata run` share: their common options, telling a spec, an
// image and package names apart, opening the environment with progress on the terminal,
// and running the prepared sandbox.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StrataError } from '../errors.js';
import type { EnvTarget, OpenedEnv } from '../env/open-env.js';
import type { SandboxRun } from '../env/sandbox.js';
import { CACHE_OPTION, LOCKFILE_OPTION, type OptionDef, type ParsedArgs } from './command.js';
import { isTarFile, lockfilePathFor, openCacheFromArgs } from './context.js';
import { formatBytes, type Output } from './output.js';
import { REMOTE_OPTIONS, remoteOptionsFromArgs } from './remote-options.js';

/** For an image in a registry: --insecure and --ca-cert (credentials come from docker/podman login). */
const REGISTRY_OPTIONS = REMOTE_OPTIONS.filter((o) => o.name === 'insecure' || o.name === 'ca-cert');

export const ENV_OPTIONS: OptionDef[] = [
  { name: 'env', short: 'e', type: 'string', multiple: true, value: 'NAME=VALUE', description: 'set a variable inside (NAME alone passes this machine\'s value); repeatable' },
  { name: 'volume', short: 'v', type: 'string', multiple: true, value: 'HOST:PATH[:ro]', description: 'bind-mount a host file or directory (read-only with :ro); repeatable' },
  { name: 'network', type: 'string', value: 'host|none', description: 'host (default): this machine\'s network and DNS; none: no network at all' },
  LOCKFILE_OPTION,
  CACHE_OPTION,
  ...REGISTRY_OPTIONS,
];

async function kindOf(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const st = await stat(path);
    return st.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/**
 * What the words name: a spec file, an image — an OCI layout directory (DIR or DIR:TAG), an
 * oci-archive or docker-archive file, a transport reference (oci:…, docker-archive:…) or a
 * registry reference (HOST[:PORT]/NAME[:TAG|@DIGEST]) — or packages. A word is a path when
 * it exists on disk or looks like a spec file name.
 */
export async function targetFromWords(words: string[], args: ParsedArgs, opts: { forShell: boolean; update: boolean }): Promise<EnvTarget> {
  if (words.length === 1) {
    const word = words[0]!;
    // A local image is named by its absolute path (what `strata cache ls` shows), a tag kept.
    const image = async (local?: { path: string; tag?: string }): Promise<EnvTarget> => ({
      kind: 'image',
      ref: local === undefined ? word : `${resolve(local.path)}${local.tag === undefined ? '' : `:${local.tag}`}`,
      registry: await remoteOptionsFromArgs(args),
    });
    const kind = await kindOf(word);
    if (kind === 'file') return (await isTarFile(word)) ? await image({ path: word }) : { kind: 'spec', specPath: word, lockPath: lockfilePathFor(args, word), forShell: opts.forShell };
    const { looksLikeRegistryReference, namesTransport } = await import('../image/open-image.js');
    if (namesTransport(word)) return await image();
    const colon = word.lastIndexOf(':');
    const [dir, tag] = kind === 'dir' ? [word, undefined] : colon > 0 ? [word.slice(0, colon), word.slice(colon + 1)] : [word, undefined];
    const dirKind = await kindOf(dir);
    if (dirKind === 'dir') {
      const { isOciLayout } = await import('../image/layout-reader.js');
      if (!(await isOciLayout(dir))) throw new StrataError('USAGE', `${dir} is a directory but not an OCI image layout (it has no oci-layout file)`, { hint: 'give a spec file, an image (OCI layout, oci-archive, docker-archive, registry reference) or package names' });
      return await image({ path: dir, ...(tag === undefined ? {} : { tag }) });
    }
    if (dirKind === 'file' && tag !== undefined && (await isTarFile(dir))) return await image({ path: dir, tag }); // ARCHIVE:TAG
    if (/\.(ya?ml|json)$/.test(word) || word.startsWith('.') || word.startsWith('/')) {
      throw new StrataError('SPEC_NOT_FOUND', `${word}: no such file`, { hint: 'give a spec file (docs/spec.md), an image (OCI layout, archive or registry reference), or package names' });
    }
    // Package names have no '/' or '@'; a registry reference names a repository path.
    if ((word.includes('/') || word.includes('@')) && looksLikeRegistryReference(word)) return await image();
  }
  if (!opts.forShell) {
    // `run` takes one spec or image; package names are for `shell` (docs/environments.md).
    throw new StrataError('SPEC_NOT_FOUND', `${words.join(' ')}: no such spec file or image`, {
      hint: 'strata run takes a spec (NAME.yaml) or an image (an OCI layout DIR or DIR:TAG, an oci-archive or docker-archive, a registry reference HOST/NAME:TAG); for package names use strata shell PKG… -- CMD',
    });
  }
  for (const w of words) {
    if ((await kindOf(w)) !== undefined) throw new StrataError('USAGE', `${w} is a file or directory; give either one spec or image, or package names`);
  }
  if (args.options.lockfile !== undefined) throw new StrataError('USAGE', '--lockfile applies to a spec, not to package names (their lock is kept in the cache)');
  return { kind: 'adhoc', packages: words, update: opts.update };
}

export function networkOf(args: ParsedArgs): 'host' | 'none' {
  const n = (args.options.network as string | undefined) ?? 'host';
  if (n !== 'host' && n !== 'none') throw new StrataError('USAGE', `--network ${n}: choose host or none`);
  return n;
}

/** Opens the environment, drawing progress while anything is built, unpacked or assembled. */
export async function openWithProgress(target: EnvTarget, args: ParsedArgs, out: Output): Promise<OpenedEnv> {
  const { openEnvironment } = await import('../env/open-env.js');
  const { hostArchitecture } = await import('../env/host.js');
  const cache = await openCacheFromArgs(args);
  const opened = await openEnvironment(target, {
    cache,
    architecture: hostArchitecture(),
    onNote: (text) => out.note(text),
    onProgress: (p) => {
      if (p.phase === 'lock') {
        const e = p.event;
        if (e.kind === 'download') out.progress(`locking: downloading ${e.what} ${formatBytes(e.received)}`);
        else if (e.kind === 'parse') out.progress(`locking: parsing ${e.what}`);
      } else if (p.phase === 'build') out.progress(`building: ${p.text}`);
      else if (p.phase === 'unpack') out.progress(`unpacked ${p.done}/${p.total} layers`);
      else out.progress('assembling the environment');
    },
  });
  out.progressDone();
  return opened;
}

/** Runs the sandbox with the environment marked in use; returns the command's exit code. */
export async function runInSandbox(opened: OpenedEnv, run: SandboxRun, args: ParsedArgs): Promise<number> {
  const { RootfsCache } = await import('../env/rootfs-cache.js');
  const { runSandbox } = await import('../env/sandbox.js');
  const rootfs = new RootfsCache(await openCacheFromArgs(args));
  const release = await rootfs.markInUse(opened.record.envKey);
  try {
    return await runSandbox(run);
  } finally {
    await release();
  }
}
