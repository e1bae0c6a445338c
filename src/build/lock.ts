// Owns `strata lock`: spec → configured suites → verified indexes → one closure per
// architecture → lockfile. An existing lock whose inputs still match the spec is kept as it
// is; when the inputs changed, versions already locked are kept where they still fit, so
// adding a package does not upgrade everything else. `update` re-resolves all or some.
import { StrataError } from '../errors.js';
import type { CacheDir } from '../cache/cache-dir.js';
import { openSuite, type OpenedSuite, type ProgressEvent } from '../debian/archive.js';
import type { NetworkOptions } from '../debian/download.js';
import { SYSTEM_ID_RULE, inputsSha256, LOCKFILE_VERSION, type LockedPackage, type LockInputs, type Lockfile } from '../debian/lockfile.js';
import { resolve, type Resolution } from '../debian/resolve/resolver.js';
import { SLIM_EXCLUSIONS } from '../debian/resolve/slim-exclusions.js';
import { Universe, type UniverseSource } from '../debian/universe.js';
import type { LoadedSpec, Spec } from '../spec/spec.js';
import { configureSources, type ConfiguredSuite } from './sources.js';
import { lockInputs } from './lock-inputs.js';

export { lockInputs, staleReasons } from './lock-inputs.js';

export interface LockOptions {
  cache: CacheDir;
  net?: NetworkOptions;
  onProgress?: (event: ProgressEvent) => void;
  /** The lock that exists now, if any. */
  previous?: Lockfile;
  /** undefined: keep what fits; []: re-resolve everything; names: re-resolve those. */
  update?: string[];
  /** Seconds since the epoch, for Valid-Until (defaults to the clock: locking is not a build). */
  now?: number;
  /**
   * Suites already opened and verified, in the order of the spec's sources (a server's
   * snapshot): the lock resolves against them instead of opening the sources again. The lock
   * lists only their indexes for the spec's architectures, as opening them for the spec would.
   */
  suites?: OpenedSuite[];
}

export interface LockResult {
  lock: Lockfile;
  /** Whether the closure was resolved now (false: the previous lock still matched). */
  resolved: boolean;
}

export function excludedSet(spec: Spec): Map<string, string> {
  if (spec.profile === 'full') return new Map();
  const out = new Map(SLIM_EXCLUSIONS);
  for (const name of spec.exclude) out.set(name, 'listed under exclude: in the spec');
  return out;
}

/**
 * Opens and verifies the configured suites. `pinned` (suite → InRelease sha256) reopens an
 * earlier snapshot from the cache instead of fetching the current InRelease.
 */
export async function openConfiguredSuites(suites: ConfiguredSuite[], architectures: string[], opts: { cache: CacheDir; net?: NetworkOptions; onProgress?: (e: ProgressEvent) => void; checkValidUntil: boolean; now: number; pinned?: Record<string, string> }): Promise<OpenedSuite[]> {
  return Promise.all(
    suites.map(async (s) => {
      const ctx: Parameters<typeof openSuite>[1] = { cache: opts.cache };
      if (opts.net !== undefined) ctx.net = opts.net;
      if (opts.onProgress !== undefined) ctx.onProgress = opts.onProgress;
      const req: Parameters<typeof openSuite>[0] = { uri: s.uri, suite: s.suite, components: s.components, architectures, keyring: s.keyring, checkValidUntil: opts.checkValidUntil, now: opts.now };
      const pin = opts.pinned?.[s.suite];
      if (pin !== undefined) req.pinnedInRelease = pin;
      const opened = await openSuite(req, ctx);
      if (s.requireFingerprints !== undefined && !opened.inRelease.signedBy.some((f) => s.requireFingerprints!.some((r) => f.endsWith(r)))) {
        throw new StrataError('SIGNATURE_UNKNOWN_KEY', `InRelease of ${s.suite}: signed by ${opened.inRelease.signedBy.join(', ')}, but ${s.origin} requires ${s.requireFingerprints.join(', ')}`);
      }
      return opened;
    }),
  );
}

/** Pre-opened suites narrowed to what opening them for these architectures would give. */
function presetSuites(suites: OpenedSuite[], names: string[], architectures: string[]): OpenedSuite[] {
  if (suites.map((s) => s.suite).join(' ') !== names.join(' ')) {
    throw new StrataError('INTERNAL', `the opened suites (${suites.map((s) => s.suite).join(', ')}) are not the spec's (${names.join(', ')})`);
  }
  return suites.map((s) => {
    for (const arch of architectures) {
      if (!s.indexes.some((ix) => ix.architecture === arch)) {
        throw new StrataError('INDEX_MISSING', `the opened suite ${s.suite} has no index for ${arch}`, { detail: { suite: s.suite, architecture: arch } });
      }
    }
    return { ...s, indexes: s.indexes.filter((ix) => ix.architecture === 'all' || architectures.includes(ix.architecture)) };
  });
}

export function universeFor(arch: string, suites: OpenedSuite[], suiteOrder: string[]): Universe {
  const sources: UniverseSource[] = [];
  for (const s of suites) {
    for (const ix of s.indexes) {
      if (ix.architecture === arch || ix.architecture === 'all') sources.push({ suite: s.suite, component: ix.component, index: ix.index });
    }
  }
  return new Universe(arch, sources, suiteOrder);
}

function lockedPackage(p: Resolution['packages'][number]): LockedPackage {
  const r = p.candidate.record;
  const out: LockedPackage = {
    name: r.name,
    version: r.version,
    architecture: r.architecture,
    source: r.source,
    sourceVersion: r.sourceVersion,
    suite: p.candidate.suite,
    component: p.candidate.component,
    filename: r.filename,
    size: r.size,
    sha256: r.sha256,
    installedSize: r.installedSize,
    priority: r.priority,
    section: r.section,
    depends: p.depends,
  };
  if (r.essential) out.essential = true;
  if (r.multiArch !== 'no') out.multiArch = r.multiArch;
  if (p.requested) out.requested = true;
  return out;
}

export async function lock(loaded: LoadedSpec, opts: LockOptions): Promise<LockResult> {
  const { spec } = loaded;
  if (spec.profile === 'full' && spec.exclude.length > 0) {
    throw new StrataError('SPEC_INVALID', `${loaded.path}: exclude: has no effect with profile: full, which leaves out nothing`, {
      hint: 'use profile: slim to leave packages out, or remove exclude:',
    });
  }
  const inputs = lockInputs(spec);
  const inputsDigest = inputsSha256(inputs);
  const previous = opts.previous;
  if (previous !== undefined && opts.update === undefined && previous.spec.inputsSha256 === inputsDigest) {
    const kept: Lockfile = { ...previous, spec: { sha256: loaded.textSha256, inputsSha256: inputsDigest }, accounts: { systemIds: SYSTEM_ID_RULE } };
    return { lock: kept, resolved: false };
  }
  const config = await configureSources(loaded);
  const suiteNames = config.suites.map((s) => s.suite);
  for (const p of spec.packages) {
    if (p.suite !== undefined && !suiteNames.includes(p.suite)) {
      throw new StrataError('SPEC_INVALID', `${loaded.path}: ${p.text} names suite ${p.suite}, which is not configured (suites: ${suiteNames.join(', ')})`, {
        hint: 'add the suite to source.suites (and to the apt sources or source.mirror)',
      });
    }
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const opened = opts.suites !== undefined ? presetSuites(opts.suites, suiteNames, spec.architectures) : await openConfiguredSuites(config.suites, spec.architectures, { ...opts, checkValidUntil: true, now });

  let preferred: Map<string, string> | undefined;
  const update = opts.update;
  const architectures: Lockfile['architectures'] = {};
  const excluded = excludedSet(spec);
  for (const arch of spec.architectures) {
    if (previous !== undefined && (update === undefined || update.length > 0)) {
      preferred = new Map();
      const names = new Set(update ?? []);
      for (const p of previous.architectures[arch]?.packages ?? []) if (!names.has(p.name)) preferred.set(p.name, p.version);
    }
    const universe = universeFor(arch, opened, suiteNames);
    const resolveOpts: Parameters<typeof resolve>[0] = { universe, requests: spec.packages, recommends: spec.recommends, excluded };
    if (preferred !== undefined) resolveOpts.preferred = preferred;
    const resolution = resolve(resolveOpts);
    architectures[arch] = { packages: resolution.packages.map(lockedPackage), excluded: resolution.excluded };
  }
  const lockfile: Lockfile = {
    lockfileVersion: LOCKFILE_VERSION,
    accounts: { systemIds: SYSTEM_ID_RULE },
    spec: { sha256: loaded.textSha256, inputsSha256: inputsDigest },
    inputs,
    epoch: Math.max(...opened.map((s) => s.release.dateEpoch)),
    suites: opened.map((s) => {
      const suite: Lockfile['suites'][number] = {
        suite: s.suite,
        origin: s.release.origin,
        label: s.release.label,
        codename: s.release.codename,
        version: s.release.version,
        date: s.release.date,
        dateEpoch: s.release.dateEpoch,
        inRelease: { sha256: s.inRelease.sha256, size: s.inRelease.size },
        signedBy: s.inRelease.signedBy,
        indexes: s.indexes.map((ix) => ({ path: ix.path, sha256: ix.sha256, size: ix.size })),
      };
      if (s.release.validUntil !== undefined) suite.validUntil = s.release.validUntil;
      return suite;
    }),
    architectures,
  };
  return { lock: lockfile, resolved: true };
}
