// Owns `strata fetch`: download every .deb of a lock into the cache, verified by sha256.
import { configureSources } from '../../build/sources.js';
import { fetchDebs, lockedPackages } from '../../build/fetch-debs.js';
import { CACHE_OPTION, JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { loadSpecAndLock, openCacheFromArgs } from '../context.js';
import { formatBytes } from '../output.js';

export const fetchCommand: Command = {
  name: 'fetch',
  summary: 'Download every .deb of the lock into the cache, each verified against its pinned sha256.',
  description: 'Looks each .deb up in the cache, then the mirror\'s pool, then source.fallbacks.',
  positionals: [{ name: 'SPEC', required: true, description: 'the spec file' }],
  options: [
    { name: 'arch', type: 'string', multiple: true, value: 'ARCH', description: 'only these architectures (repeatable)' },
    LOCKFILE_OPTION,
    CACHE_OPTION,
    JSON_OPTION,
  ],
  examples: ['strata fetch examples/redis.yaml'],
  async run(args, out) {
    const [specPath] = args.positionals as [string];
    const { loaded, lock } = await loadSpecAndLock(args, specPath);
    const cache = await openCacheFromArgs(args);
    const sources = await configureSources(loaded);
    const archs = args.options.arch as string[] | undefined;
    const packages = lockedPackages(lock, archs);
    let downloaded = 0;
    let bytes = 0;
    await fetchDebs(packages, sources, {
      cache,
      onProgress: (p) => {
        if (!p.fromCache) downloaded++;
        bytes = p.bytes;
        out.progress(`fetching ${p.done}/${p.total} ${p.name} (${formatBytes(p.bytes)} downloaded)`);
      },
    });
    out.progressDone();
    if (out.json) out.data({ packages: packages.length, downloaded, cached: packages.length - downloaded, bytes });
    else out.line(`${packages.length} .debs verified in ${cache.root} (${downloaded} downloaded, ${formatBytes(bytes)}; ${packages.length - downloaded} already cached)`);
    return 0;
  },
};
