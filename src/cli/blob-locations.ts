// Owns remembering, in the cache, which repositories of a registry hold which blobs after a
// push, so that the next push of the same blobs to another repository of that registry mounts
// them instead of uploading them (what docker does with its own record). A hint only: a
// registry that no longer holds a blob there simply gets it uploaded.
import type { CacheDir } from '../cache/cache-dir.js';

const MAX_REPOS_PER_BLOB = 4;

function file(host: string): string {
  return `registry-blobs/${host.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}

export async function knownLocations(cache: CacheDir, host: string): Promise<Map<string, string[]>> {
  const raw = await cache.readOptional(file(host));
  if (raw === undefined) return new Map();
  try {
    return new Map(Object.entries(JSON.parse(raw.toString('utf8')) as Record<string, string[]>));
  } catch {
    return new Map(); // a torn or foreign file: start over
  }
}

export async function rememberLocations(cache: CacheDir, host: string, repository: string, digests: string[]): Promise<void> {
  const known = await knownLocations(cache, host);
  for (const d of digests) {
    const repos = (known.get(d) ?? []).filter((r) => r !== repository);
    known.set(d, [repository, ...repos].slice(0, MAX_REPOS_PER_BLOB));
  }
  await cache.writeAtomic(file(host), JSON.stringify(Object.fromEntries([...known].sort(([a], [b]) => (a < b ? -1 : 1)))));
}
