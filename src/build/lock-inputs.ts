// Owns what a lock is resolved from (the spec's resolution inputs) and whether a lockfile
// still matches its spec. Apart from lock.ts (resolution), so that checking a lock before a
// build does not load the resolver and the archive client.
import { inputsSha256, type LockInputs, type Lockfile } from '../debian/lockfile.js';
import type { LoadedSpec, Spec } from '../spec/spec.js';

export function lockInputs(spec: Spec): LockInputs {
  const source: LockInputs['source'] = {};
  if (spec.source.mirror !== undefined) source.mirror = spec.source.mirror;
  if (spec.source.suites !== undefined) source.suites = spec.source.suites;
  if (spec.source.components !== undefined) source.components = spec.source.components;
  return {
    architectures: spec.architectures,
    packages: spec.packages.map((p) => p.text),
    exclude: [...spec.exclude].sort(),
    recommends: spec.recommends,
    profile: spec.profile,
    source,
  };
}

/** Explains why a lock is stale: which inputs differ. Empty when it matches. */
export function staleReasons(loaded: LoadedSpec, lockfile: Lockfile): string[] {
  const now = lockInputs(loaded.spec);
  const was = lockfile.inputs;
  const out: string[] = [];
  const show = (v: unknown) => JSON.stringify(v);
  for (const key of Object.keys(now) as Array<keyof LockInputs>) {
    if (show(now[key]) !== show(was[key])) out.push(`${key}: lock has ${show(was[key])}, spec has ${show(now[key])}`);
  }
  if (out.length === 0 && lockfile.spec.inputsSha256 !== inputsSha256(now)) out.push('the resolution inputs differ');
  return out;
}
