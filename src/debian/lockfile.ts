// Owns the lockfile format (docs/lockfile.md): a versioned, canonical JSON record of the
// resolution inputs, every suite's signed InRelease and indexes, and every package of each
// architecture's closure pinned by sha256, with its resolved dependency edges. It names no
// mirror: packages are found by sha256 along the configured chain of sources, so a lock made
// on one machine builds on another that uses a different mirror.
import { StrataError } from '../errors.js';
import { canonicalJson, canonicalJsonPretty } from '../digest/canonical-json.js';
import { isSha256Hex, sha256Hex, type Sha256Hex } from '../digest/sha256.js';

export const LOCKFILE_VERSION = 1;

export interface LockedIndex {
  path: string;
  sha256: Sha256Hex;
  size: number;
}

export interface LockedSuite {
  suite: string;
  origin: string;
  label: string;
  codename: string;
  version: string;
  date: string;
  dateEpoch: number;
  validUntil?: string;
  inRelease: { sha256: Sha256Hex; size: number };
  /** Fingerprints of the keys whose signatures verified. */
  signedBy: string[];
  indexes: LockedIndex[];
}

export interface LockedPackage {
  name: string;
  version: string;
  architecture: string;
  source: string;
  sourceVersion: string;
  suite: string;
  component: string;
  filename: string;
  size: number;
  sha256: Sha256Hex;
  installedSize: number;
  priority: string;
  section: string;
  essential?: true;
  multiArch?: string;
  /** Named in the spec's packages (or chosen for such a name when it is virtual). */
  requested?: true;
  /** Names of the packages of this closure that its dependencies resolved to. */
  depends: string[];
}

export interface LockedExclusion {
  name: string;
  reason: string;
  requiredBy: string[];
}

export interface LockedClosure {
  packages: LockedPackage[];
  excluded: LockedExclusion[];
}

/** What the resolution depended on, taken from the spec. A change here makes a lock stale. */
export interface LockInputs {
  architectures: string[];
  packages: string[];
  exclude: string[];
  recommends: boolean;
  profile: string;
  source: { mirror?: string; suites?: string[]; components?: string[] };
}

export interface Lockfile {
  lockfileVersion: number;
  spec: { sha256: Sha256Hex; inputsSha256: Sha256Hex };
  inputs: LockInputs;
  /** The newest InRelease Date: the default SOURCE_DATE_EPOCH of builds from this lock. */
  epoch: number;
  suites: LockedSuite[];
  architectures: Record<string, LockedClosure>;
  /**
   * The rule that gives fixed IDs to the system users and groups maintainer scripts would
   * create (src/effects/accounts.ts). Pinned here so that a later strata with another rule
   * refuses the lock instead of building different owners from it.
   */
  accounts?: { systemIds: string };
}

/** The system-ID rule this strata applies (see Lockfile.accounts). */
export const SYSTEM_ID_RULE = 'strata-system-ids/1: 100 + fnv1a32(name) mod 900, probing upwards within 100-999, names in byte order, after the spec\'s accounts and Debian\'s static IDs';

export function inputsSha256(inputs: LockInputs): Sha256Hex {
  return sha256Hex(canonicalJson(inputs));
}

export function formatLockfile(lock: Lockfile): string {
  return canonicalJsonPretty(lock);
}

/**
 * The digest that identifies what a lock pins: sha256 of the canonical compact form of its
 * content — the format version, the epoch, every suite's signed InRelease and indexes, and
 * every closure. It leaves out what only records where the lock came from (the spec's text
 * digest and its resolution inputs, which name the mirror's location): editing a comment in
 * the spec, or locking the same archive through another mirror URL, keeps the digest, and so
 * keeps the image (whose manifest carries it) bit for bit the same.
 */
export function lockfileDigest(lock: Lockfile): Sha256Hex {
  return sha256Hex(canonicalJson({ lockfileVersion: lock.lockfileVersion, epoch: lock.epoch, suites: lock.suites, architectures: lock.architectures, accounts: lock.accounts }));
}

function invalid(file: string, why: string): never {
  throw new StrataError('LOCK_INVALID', `${file}: ${why}`, {
    hint: 'the lockfile was edited by hand, damaged, or written by another tool; `strata lock` on its spec writes a fresh one in its place',
  });
}

function need(file: string, cond: boolean, why: string): void {
  if (!cond) invalid(file, why);
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function parseLockfile(text: string, file: string): Lockfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    invalid(file, `not JSON (${(e as Error).message})`);
  }
  const lock = raw as Lockfile;
  need(file, typeof lock === 'object' && lock !== null, 'not a JSON object');
  if (lock.lockfileVersion !== LOCKFILE_VERSION) {
    invalid(file, `lockfileVersion is ${JSON.stringify(lock.lockfileVersion)}; this strata reads version ${LOCKFILE_VERSION}`);
  }
  need(file, isSha256Hex(lock.spec?.sha256) && isSha256Hex(lock.spec?.inputsSha256), 'spec digests missing');
  need(file, typeof lock.inputs === 'object' && Array.isArray(lock.inputs?.packages) && Array.isArray(lock.inputs?.architectures), 'inputs missing');
  need(file, isInt(lock.epoch), 'epoch missing');
  need(file, Array.isArray(lock.suites), 'suites missing');
  for (const [i, s] of lock.suites.entries()) {
    need(file, isStr(s.suite) && isSha256Hex(s.inRelease?.sha256) && Array.isArray(s.indexes) && Array.isArray(s.signedBy), `suites[${i}] is incomplete`);
    for (const x of s.indexes) need(file, isStr(x.path) && isSha256Hex(x.sha256) && isInt(x.size), `suites[${i}].indexes has an invalid entry`);
  }
  need(file, typeof lock.architectures === 'object' && lock.architectures !== null, 'architectures missing');
  if (lock.accounts !== undefined && lock.accounts.systemIds !== SYSTEM_ID_RULE) {
    invalid(file, `its system-ID rule is ${JSON.stringify(lock.accounts.systemIds)}, which this strata does not apply (it applies ${JSON.stringify(SYSTEM_ID_RULE)})`);
  }
  for (const arch of lock.inputs.architectures) need(file, lock.architectures[arch] !== undefined, `no closure for architecture ${arch}`);
  for (const [arch, closure] of Object.entries(lock.architectures)) {
    need(file, Array.isArray(closure.packages) && Array.isArray(closure.excluded), `architectures.${arch} is incomplete`);
    const names = new Set<string>();
    for (const p of closure.packages) {
      const where = `architectures.${arch}: package ${JSON.stringify(p?.name)}`;
      need(file, isStr(p.name) && isStr(p.version) && isStr(p.architecture) && isStr(p.filename), `${where} is incomplete`);
      need(file, isSha256Hex(p.sha256) && isInt(p.size), `${where} has no valid sha256/size`);
      need(file, !p.filename.startsWith('/') && !p.filename.split('/').includes('..'), `${where} has an unsafe filename`);
      need(file, Array.isArray(p.depends), `${where} has no depends list`);
      need(file, !names.has(p.name), `${where} appears twice`);
      names.add(p.name);
    }
    for (const p of closure.packages) {
      for (const d of p.depends) need(file, names.has(d), `architectures.${arch}: ${p.name} depends on ${d}, which is not in the closure`);
    }
  }
  return lock;
}
