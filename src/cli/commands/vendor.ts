// Owns `strata vendor`: copy every locked .deb into a folder laid out like an archive's pool,
// so the folder (or a web server over it) can serve as a source.fallbacks entry and keep the
// lock buildable after the mirror drops these versions.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StrataError } from '../../errors.js';
import { configureSources } from '../../build/sources.js';
import { fetchDebs, lockedPackages } from '../../build/fetch-debs.js';
import { CACHE_OPTION, JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { loadSpecAndLock, openCacheFromArgs, writeFileAtomic } from '../context.js';
import { formatBytes } from '../output.js';

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const vendorCommand: Command = {
  name: 'vendor',
  summary: 'Copy every locked .deb into DIR (pool layout), usable as a source.fallbacks entry.',
  description: [
    'Writes DIR/<Filename> for each package (the path the Packages index gives, such as',
    'pool/main/r/redis/redis-server_….deb) and DIR/SHA256SUMS. Add `- DIR` (or its URL when',
    'served over HTTP) under source.fallbacks to build from it when the mirror no longer has them.',
  ].join('\n'),
  positionals: [
    { name: 'SPEC', required: true, description: 'the spec file' },
    { name: 'DIR', required: true, description: 'the folder to write (created if needed)' },
  ],
  options: [LOCKFILE_OPTION, CACHE_OPTION, JSON_OPTION],
  examples: ['strata vendor examples/redis.yaml vendor/', 'strata vendor examples/redis.yaml /srv/debs'],
  async run(args, out) {
    const [specPath, dirArg] = args.positionals as [string, string];
    const dir = resolve(dirArg);
    const { loaded, lock } = await loadSpecAndLock(args, specPath);
    const cache = await openCacheFromArgs(args);
    const sources = await configureSources(loaded);
    const packages = lockedPackages(lock);
    const paths = await fetchDebs(packages, sources, { cache, onProgress: (p) => out.progress(`fetching ${p.done}/${p.total} ${p.name}`) });
    let copied = 0;
    let bytes = 0;
    for (const p of packages) {
      const target = join(dir, p.filename);
      if (!target.startsWith(`${dir}/`)) throw new StrataError('LOCK_INVALID', `${p.name}: unsafe filename ${p.filename}`);
      const existing = await stat(target).catch(() => undefined);
      // Keep a file already there only when it is the locked bytes (a damaged copy is replaced).
      if (existing?.size === p.size && (await fileSha256(target)) === p.sha256) continue;
      await mkdir(dirname(target), { recursive: true });
      const temp = `${target}.${process.pid}.tmp`;
      try {
        await copyFile(paths.get(p.sha256)!, temp);
        await rename(temp, target);
      } catch (e) {
        await rm(temp, { force: true });
        throw new StrataError('IO_ERROR', `cannot write ${target}: ${(e as Error).message}`, { cause: e });
      }
      copied++;
      bytes += p.size;
      out.progress(`copying ${copied} ${p.name}`);
    }
    const sums = packages.map((p) => `${p.sha256}  ${p.filename}`).sort().join('\n');
    await writeFileAtomic(join(dir, 'SHA256SUMS'), `${sums}\n`);
    out.progressDone();
    if (out.json) out.data({ dir, packages: packages.length, copied, bytes });
    else out.line(`${packages.length} .debs in ${dir} (${copied} copied, ${formatBytes(bytes)}); add it under source.fallbacks`);
    return 0;
  },
};
