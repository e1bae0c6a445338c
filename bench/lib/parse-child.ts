// One cold parse of a Packages index, in a fresh process (cold JIT, empty heap, as in a
// user's first `strata lock`): exactly what loadIndex in src/debian/archive.ts does after the
// download, by calling the same function, parseAndCacheIndex — decompress, parse, build the
// PackageIndex, and write its cache form into a cache directory. Prints one JSON line.
//   node dist/bench/lib/parse-child.js BLOB ENTRY-PATH WORK-DIR
// STRATA_XZ=wasm in the environment selects the WASM xz decoder for this process.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheDir } from '../../src/cache/cache-dir.js';
import { parseAndCacheIndex } from '../../src/debian/archive.js';
import { hostXz } from '../../src/archive/decompress.js';

const [blob, entryPath, workDir] = process.argv.slice(2);
if (blob === undefined || entryPath === undefined || workDir === undefined) {
  process.stderr.write('usage: parse-child.js BLOB ENTRY-PATH WORK-DIR\n');
  process.exit(2);
}
const cacheRoot = await mkdtemp(join(workDir, 'parse-cache-'));
const cache = await CacheDir.open(cacheRoot);
// The cache key only names the file; any well-formed sha256 will do.
const entry = { path: entryPath, sha256: '0'.repeat(64) };
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cpuStarted = cpu();
const started = performance.now();
const index = await parseAndCacheIndex(cache, blob, entry, entryPath);
const ms = performance.now() - started;
const cpuMs = cpu() - cpuStarted;
await rm(cacheRoot, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    ms,
    /** CPU time of this process (all its threads) over the same span. */
    cpuMs,
    records: index.size,
    decoder: entryPath.endsWith('.xz') ? (hostXz() === null ? 'wasm' : 'host xz') : 'n/a',
    maxRssKiB: process.resourceUsage().maxRSS,
  })}\n`,
);
