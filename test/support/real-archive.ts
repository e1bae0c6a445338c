// Owns the comparison of strata's closures with the real archive, shared by
// test/real-archive-closures.test.ts (which asserts) and bench/closures-table.ts (which
// prints the table of docs/closures.md). For each request it locks two specs with the
// library (`profile: full` and `profile: slim`) against the host's apt sources, then:
//   - installability: dose-distcheck over a Packages file that holds exactly the closure's
//     original stanzas (taken from the very index blobs the lock verified), plus one
//     synthetic package that depends on every member at its locked version, so the closure
//     is checked package by package and as one co-installable set;
//   - apt: `apt-get install -s --no-install-recommends` with an empty dpkg status, run on a
//     private apt configuration whose lists are the same InRelease and Packages files the
//     lock used (so both sides see identical indexes; the host's apt state, preferences and
//     apt.conf.d are not read);
//   - slim: every package of the full closure missing from the slim one is either listed in
//     the slim lock's excluded[] or reachable from the requests only through such a package.
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { lock } from '../../src/build/lock.js';
import { CacheDir } from '../../src/cache/cache-dir.js';
import type { LockedClosure, LockedPackage, Lockfile } from '../../src/debian/lockfile.js';
import { SLIM_EXCLUSIONS } from '../../src/debian/resolve/slim-exclusions.js';
import { loadSpec } from '../../src/spec/load-spec.js';
import { mapConcurrent } from '../../src/util/map-concurrent.js';

const run = promisify(execFile);

export interface ClosureRequest {
  /** As shown in the table. */
  label: string;
  packages: string[];
}

/** Real requests against bookworm main: services, runtimes, tools, libraries, small and large. */
export const REQUESTS: readonly ClosureRequest[] = [
  { label: 'redis-server', packages: ['redis-server'] },
  { label: 'python3', packages: ['python3'] },
  { label: 'nginx', packages: ['nginx'] },
  { label: 'postgresql-15', packages: ['postgresql-15'] },
  { label: 'git', packages: ['git'] },
  { label: 'curl', packages: ['curl'] },
  { label: 'openjdk-17-jre-headless', packages: ['openjdk-17-jre-headless'] },
  { label: 'nodejs', packages: ['nodejs'] },
  { label: 'ruby', packages: ['ruby'] },
  { label: 'perl', packages: ['perl'] },
  { label: 'bash + coreutils', packages: ['bash', 'coreutils'] },
  { label: 'ca-certificates', packages: ['ca-certificates'] },
  { label: 'python3-requests', packages: ['python3-requests'] },
  { label: 'openssh-client', packages: ['openssh-client'] },
  { label: 'vim-tiny', packages: ['vim-tiny'] },
  { label: 'jq', packages: ['jq'] },
  { label: 'sqlite3', packages: ['sqlite3'] },
  { label: 'libxml2-utils', packages: ['libxml2-utils'] },
  { label: 'busybox', packages: ['busybox'] },
  { label: 'postgresql-client-15', packages: ['postgresql-client-15'] },
  { label: 'gcc', packages: ['gcc'] },
  { label: 'mariadb-server', packages: ['mariadb-server'] },
  { label: 'apache2', packages: ['apache2'] },
  { label: 'imagemagick', packages: ['imagemagick'] },
  { label: 'php-cli', packages: ['php-cli'] },
  { label: 'golang-go', packages: ['golang-go'] },
  { label: 'rsync + openssl + tzdata', packages: ['rsync', 'openssl', 'tzdata'] },
  // Where first-in first-out selection once went past apt (the pruning rule in
  // src/debian/resolve/resolver.ts): phpmyadmin needs php-json, a real package that
  // php8.2-cli, selected later, provides; ruby-em-spec needs ruby-rspec | ruby-bacon |
  // ruby-test-unit, and ruby brings ruby-test-unit later. python3-django is one where apt
  // installs one package more (python3-typing-extensions, an alternative to python3).
  { label: 'phpmyadmin', packages: ['phpmyadmin'] },
  { label: 'ruby-em-spec', packages: ['ruby-em-spec'] },
  { label: 'python3-django', packages: ['python3-django'] },
];

/** $STRATA_TEST_CACHE, else strata-test-cache in the OS temp folder: it persists between runs. */
export function testCacheRoot(): string {
  return process.env.STRATA_TEST_CACHE || join(tmpdir(), 'strata-test-cache');
}

/** Host tools the comparison needs that are not on PATH. */
export function missingTools(): string[] {
  const probes: Array<[string, string[]]> = [
    ['dose-distcheck', ['--version']],
    ['apt-get', ['--version']],
    ['xz', ['--version']],
  ];
  return probes.filter(([tool, args]) => spawnSync(tool, args, { stdio: 'ignore' }).error !== undefined).map(([tool]) => tool);
}

// ---------------------------------------------------------------------------------------
// Raw stanzas

export interface Stanza {
  name: string;
  version: string;
  architecture: string;
  text: string;
}

/** The value of a field in a stanza, continuation lines joined; '' when absent. */
export function stanzaField(text: string, field: string): string {
  const m = new RegExp(`^${field}:[ \\t]*(.*(?:\\n[ \\t].*)*)`, 'mi').exec(text);
  return m === null ? '' : m[1]!.replace(/\n[ \t]+/g, ' ').trim();
}

/** Names in a Provides field. */
export function providedBy(text: string): string[] {
  const provides = stanzaField(text, 'Provides');
  if (provides === '') return [];
  return provides.split(',').map((p) => p.trim().split(/[\s(:]/, 1)[0]!).filter((n) => n !== '');
}

const keyOf = (name: string, version: string, architecture: string) => `${name}\0${version}\0${architecture}`;

function decompressor(path: string): { cmd: string; args: string[] } | undefined {
  if (path.endsWith('.xz')) return { cmd: 'xz', args: ['-dc'] };
  if (path.endsWith('.gz')) return { cmd: 'gzip', args: ['-dc'] };
  if (path.endsWith('.zst')) return { cmd: 'zstd', args: ['-dcq'] };
  return undefined;
}

/**
 * The indexes a lock was made from, as raw stanzas, and a private apt configuration whose
 * lists are those same files.
 */
export class ArchiveView {
  readonly architecture: string;
  readonly dir: string;
  /** suite → InRelease sha256 of the lock this view was built from. */
  readonly inReleases: ReadonlyMap<string, string>;
  private readonly byKey = new Map<string, Stanza>();
  private readonly byName = new Map<string, Stanza[]>();
  private readonly aptConfig: string;

  private constructor(architecture: string, dir: string, inReleases: Map<string, string>, aptConfig: string) {
    this.architecture = architecture;
    this.dir = dir;
    this.inReleases = inReleases;
    this.aptConfig = aptConfig;
  }

  static async build(cache: CacheDir, lf: Lockfile, dir: string): Promise<ArchiveView> {
    const architecture = lf.inputs.architectures[0]!;
    const lists = join(dir, 'apt', 'lists');
    const empty = join(dir, 'apt', 'empty');
    const aptCache = join(dir, 'apt', 'cache');
    await mkdir(join(lists, 'partial'), { recursive: true });
    await mkdir(empty, { recursive: true });
    await mkdir(join(aptCache, 'archives', 'partial'), { recursive: true });
    const sources: string[] = [];
    const inReleases = new Map<string, string>();
    const texts: string[] = [];
    for (const [i, suite] of lf.suites.entries()) {
      inReleases.set(suite.suite, suite.inRelease.sha256);
      // A made-up origin: apt only maps it to list file names and never fetches from it.
      const prefix = `strata-test.invalid_s${i}_dists_${suite.suite.replace(/\//g, '_')}_`;
      const inRelease = cache.blobPath(suite.inRelease.sha256);
      if (!(await cache.hasBlob(suite.inRelease.sha256))) throw new Error(`InRelease of ${suite.suite} is not in the cache`);
      await run('cp', [inRelease, join(lists, `${prefix}InRelease`)]);
      const components = new Set<string>();
      for (const ix of suite.indexes) {
        if (!(await cache.hasBlob(ix.sha256))) {
          throw new Error(`${suite.suite}/${ix.path} (sha256 ${ix.sha256}) is not in the cache's blobs; remove the cache's index/ folder so that lock downloads it again`);
        }
        components.add(ix.path.split('/')[0]!);
        const d = decompressor(ix.path);
        const text = d === undefined
          ? (await run('cat', [cache.blobPath(ix.sha256)], { encoding: 'latin1', maxBuffer: 1 << 30 })).stdout
          : (await run(d.cmd, [...d.args, cache.blobPath(ix.sha256)], { encoding: 'latin1', maxBuffer: 1 << 30 })).stdout;
        const plain = ix.path.replace(/\.(xz|gz|zst)$/, '');
        await writeFile(join(lists, prefix + plain.replace(/\//g, '_')), text, 'latin1');
        texts.push(text);
      }
      sources.push(`deb [arch=${architecture}] http://strata-test.invalid/s${i} ${suite.suite} ${[...components].join(' ')}`);
    }
    await writeFile(join(dir, 'apt', 'sources.list'), `${sources.join('\n')}\n`);
    const aptConfig = join(dir, 'apt', 'apt.conf');
    // Read through APT_CONFIG, before (and instead of) the host's apt.conf.d.
    await writeFile(aptConfig, [
      `Dir::Etc::Parts "${empty}";`,
      'Dir::Etc::main "/dev/null";',
      `Dir::Etc::SourceList "${join(dir, 'apt', 'sources.list')}";`,
      `Dir::Etc::SourceParts "${empty}";`,
      'Dir::Etc::Preferences "/dev/null";',
      `Dir::Etc::PreferencesParts "${empty}";`,
      `Dir::State::Lists "${lists}";`,
      'Dir::State::status "/dev/null";',
      `Dir::Cache "${aptCache}";`,
      'Debug::NoLocking "true";',
      `APT::Architecture "${architecture}";`,
      `APT::Architectures { "${architecture}"; };`,
      '',
    ].join('\n'));
    const view = new ArchiveView(architecture, dir, inReleases, aptConfig);
    for (const text of texts) view.addStanzas(text);
    return view;
  }

  private addStanzas(text: string): void {
    for (const raw of text.split(/\n\n+/)) {
      const stanza = raw.trim();
      if (stanza === '') continue;
      const name = stanzaField(stanza, 'Package');
      const version = stanzaField(stanza, 'Version');
      const architecture = stanzaField(stanza, 'Architecture');
      const key = keyOf(name, version, architecture);
      if (this.byKey.has(key)) continue; // the same package in a later suite
      const s: Stanza = { name, version, architecture, text: stanza };
      this.byKey.set(key, s);
      const list = this.byName.get(name);
      if (list === undefined) this.byName.set(name, [s]);
      else list.push(s);
    }
  }

  stanza(p: Pick<LockedPackage, 'name' | 'version' | 'architecture'>): Stanza {
    const s = this.byKey.get(keyOf(p.name, p.version, p.architecture));
    if (s === undefined) throw new Error(`${p.name} ${p.version} ${p.architecture} is in the lock but in none of its indexes`);
    return s;
  }

  stanzasNamed(name: string): Stanza[] {
    return this.byName.get(name) ?? [];
  }

  /** What `apt-get install -s --no-install-recommends PKGS` installs on an empty system. */
  async aptInstall(packages: string[]): Promise<Array<{ name: string; version: string }>> {
    let stdout: string;
    try {
      ({ stdout } = await run('apt-get', ['install', '-s', '--no-install-recommends', ...packages], {
        env: { ...process.env, APT_CONFIG: this.aptConfig, LC_ALL: 'C' },
        maxBuffer: 64 << 20,
      }));
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`apt-get install -s ${packages.join(' ')} failed: ${err.stderr || err.stdout || err.message}`);
    }
    const out: Array<{ name: string; version: string }> = [];
    for (const line of stdout.split('\n')) {
      const m = /^Inst (\S+) (?:\[\S+\] )?\((\S+) /.exec(line);
      if (m !== null) out.push({ name: m[1]!.replace(/:[a-z0-9-]+$/, ''), version: m[2]! });
    }
    return out;
  }

  /**
   * Runs dose-distcheck on `foreground` (checked) with `background` (available, not
   * checked). Returns dose's report of the packages it found not installable, '' when all are.
   */
  async distcheck(label: string, foreground: string[], background: string[] = []): Promise<string> {
    const fg = join(this.dir, `${label}.fg.Packages`);
    const bg = join(this.dir, `${label}.bg.Packages`);
    await writeFile(fg, `${foreground.join('\n\n')}\n`, 'latin1');
    const args = [`--deb-native-arch=${this.architecture}`, '--failures', '--explain', `--fg=deb://${fg}`];
    if (background.length > 0) {
      await writeFile(bg, `${background.join('\n\n')}\n`, 'latin1');
      args.push(`--bg=deb://${bg}`);
    }
    try {
      await run('dose-distcheck', args, { maxBuffer: 64 << 20 });
      return '';
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string; message: string };
      if (err.code === 1) return err.stdout ?? 'dose-distcheck: exit 1';
      throw new Error(`dose-distcheck ${args.join(' ')} failed (exit ${err.code}): ${err.stderr || err.message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Checks

const META = 'strata-closure-check';

/** A package that depends on every member of the closure at its locked version. */
function metaStanza(packages: LockedPackage[]): string {
  return [
    `Package: ${META}`,
    'Version: 1',
    'Architecture: all',
    `Depends: ${packages.map((p) => `${p.name} (= ${p.version})`).join(', ')}`,
  ].join('\n');
}

/**
 * Stand-ins for the packages a slim closure leaves out: every version of each name the
 * archive has, with its identity, Multi-Arch and Provides but no relations, so that a
 * dependency on a left-out package counts as met (as the resolver treats it) without
 * pulling in what the left-out package itself needs. A left-out name that is only virtual
 * gets a bare stand-in of that name.
 */
function standIns(view: ArchiveView, names: string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const real = view.stanzasNamed(name);
    if (real.length === 0) {
      out.push(`Package: ${name}\nVersion: 0\nArchitecture: all`);
      continue;
    }
    for (const s of real) {
      const lines = [`Package: ${s.name}`, `Version: ${s.version}`, `Architecture: ${s.architecture}`];
      const ma = stanzaField(s.text, 'Multi-Arch');
      if (ma !== '') lines.push(`Multi-Arch: ${ma}`);
      const provides = stanzaField(s.text, 'Provides');
      if (provides !== '') lines.push(`Provides: ${provides}`);
      out.push(lines.join('\n'));
    }
  }
  return out;
}

function closureOf(lf: Lockfile, arch: string): LockedClosure {
  const c = lf.architectures[arch];
  if (c === undefined) throw new Error(`the lock has no closure for ${arch}`);
  return c;
}

export interface RequestOutcome {
  request: ClosureRequest;
  full: LockedClosure;
  slim: LockedClosure;
  apt: Array<{ name: string; version: string }>;
  /** Packages of the full closure that apt does not install, and the reverse. */
  onlyStrata: string[];
  onlyApt: string[];
  /** Packages of the full closure that slim leaves out, by reason: listed in excluded[], or only reachable through one. */
  leftOutListed: string[];
  leftOutThrough: string[];
  /** Everything that contradicts the acceptance criteria; empty when the request passes. */
  problems: string[];
}

/** The slim accounting: which full-only packages are listed, which are only reachable through a listed one, and which are neither. */
export function accountSlim(full: LockedClosure, slim: LockedClosure, providesOf: (p: LockedPackage) => string[]) {
  const slimNames = new Set(slim.packages.map((p) => p.name));
  const excludedNames = new Set(slim.excluded.map((x) => x.name));
  // A package stands for an excluded name when it is that name, or when the name is virtual
  // in the full closure (no package of that name in it) and the package provides it.
  const fullNames = new Set(full.packages.map((p) => p.name));
  const stop = new Set<string>();
  for (const p of full.packages) {
    if (excludedNames.has(p.name) || providesOf(p).some((n) => excludedNames.has(n) && !fullNames.has(n))) stop.add(p.name);
  }
  const byName = new Map(full.packages.map((p) => [p.name, p]));
  const reachable = new Set<string>();
  const queue = full.packages.filter((p) => p.requested).map((p) => p.name);
  for (const n of queue) reachable.add(n);
  while (queue.length > 0) {
    const n = queue.shift()!;
    for (const d of byName.get(n)?.depends ?? []) {
      if (reachable.has(d) || stop.has(d)) continue;
      reachable.add(d);
      queue.push(d);
    }
  }
  const listed: string[] = [];
  const through: string[] = [];
  const unaccounted: string[] = [];
  for (const p of full.packages) {
    if (slimNames.has(p.name)) continue;
    if (stop.has(p.name)) listed.push(p.name);
    else if (!reachable.has(p.name)) through.push(p.name);
    else unaccounted.push(p.name);
  }
  const missing = [...reachable].filter((n) => !slimNames.has(n) && !stop.has(n));
  return { listed, through, unaccounted: [...new Set([...unaccounted, ...missing])].sort() };
}

async function checkRequest(view: ArchiveView, request: ClosureRequest, fullLock: Lockfile, slimLock: Lockfile): Promise<RequestOutcome> {
  const arch = view.architecture;
  const full = closureOf(fullLock, arch);
  const slim = closureOf(slimLock, arch);
  const problems: string[] = [];
  const label = request.packages.join('+');

  for (const lf of [fullLock, slimLock]) {
    for (const s of lf.suites) {
      if (view.inReleases.get(s.suite) !== s.inRelease.sha256) {
        problems.push(`${lf.inputs.profile} lock of ${request.label} used another InRelease of ${s.suite} than the rest of the run (the archive changed meanwhile; run again)`);
      }
    }
  }
  if (full.excluded.length > 0) problems.push(`profile: full left out ${full.excluded.map((x) => x.name).join(', ')}`);

  // (a) The full closure is installable on its own, package by package and as a whole.
  const fullStanzas = full.packages.map((p) => view.stanza(p).text);
  const fullReport = await view.distcheck(`${label}-full`, [...fullStanzas, metaStanza(full.packages)]);
  if (fullReport !== '') problems.push(`full closure not installable on its own (dose-distcheck):\n${fullReport}`);

  // (b) No larger than what apt installs for the same request.
  const apt = await view.aptInstall(request.packages);
  if (full.packages.length > apt.length) problems.push(`full closure has ${full.packages.length} packages, apt-get -s installs ${apt.length}`);
  const aptNames = new Set(apt.map((p) => p.name));
  const fullNames = new Set(full.packages.map((p) => p.name));
  const onlyStrata = [...fullNames].filter((n) => !aptNames.has(n)).sort();
  const onlyApt = [...aptNames].filter((n) => !fullNames.has(n)).sort();

  // (c) Slim: smaller when there is anything to leave out, every left-out package
  // accounted for, and installable once the left-out packages count as present.
  const fullByName = new Map(full.packages.map((p) => [p.name, p]));
  for (const p of slim.packages) {
    const f = fullByName.get(p.name);
    if (f === undefined || f.version !== p.version) problems.push(`slim closure has ${p.name} ${p.version}, which the full closure does not`);
  }
  const leavable = full.packages.filter((p) => !p.requested && (SLIM_EXCLUSIONS.has(p.name) || providedBy(view.stanza(p).text).some((n) => SLIM_EXCLUSIONS.has(n))));
  if (leavable.length > 0 && slim.packages.length >= full.packages.length) {
    problems.push(`slim closure (${slim.packages.length}) is not smaller than the full one (${full.packages.length}) although the full one has ${leavable.map((p) => p.name).join(', ')}`);
  }
  const slimNames = new Set(slim.packages.map((p) => p.name));
  for (const x of slim.excluded) {
    if (!SLIM_EXCLUSIONS.has(x.name)) problems.push(`slim left out ${x.name}, which is not a slim exclusion`);
    const strays = x.requiredBy.filter((n) => !slimNames.has(n));
    if (strays.length > 0) problems.push(`excluded ${x.name} is required by ${strays.join(', ')}, which are not in the slim closure`);
  }
  const acc = accountSlim(full, slim, (p) => providedBy(view.stanza(p).text));
  if (acc.unaccounted.length > 0) {
    problems.push(`slim leaves out ${acc.unaccounted.join(', ')}, which are reachable from the request without passing through a package listed in excluded[]`);
  }
  const slimStanzas = slim.packages.map((p) => view.stanza(p).text);
  const slimReport = await view.distcheck(`${label}-slim`, [...slimStanzas, metaStanza(slim.packages)], standIns(view, slim.excluded.map((x) => x.name)));
  if (slimReport !== '') problems.push(`slim closure not installable with the left-out packages taken as present (dose-distcheck):\n${slimReport}`);

  return { request, full, slim, apt, onlyStrata, onlyApt, leftOutListed: acc.listed.sort(), leftOutThrough: acc.through.sort(), problems };
}

function slug(request: ClosureRequest): string {
  return request.packages.join('+').replace(/[^a-z0-9+.-]/g, '_');
}

export interface RunOptions {
  requests?: readonly ClosureRequest[];
  cacheRoot?: string;
  /** Called once per request as soon as its outcome is known. */
  onOutcome?: (o: RequestOutcome) => void;
}

export interface RunResult {
  outcomes: RequestOutcome[];
  /** The suites the locks were made from (name, Date of InRelease). */
  suites: Array<{ suite: string; date: string }>;
  timings: { lockMs: number; checkMs: number };
}

/** Locks every request in both profiles, then checks each against dose-distcheck and apt. */
export async function runClosureChecks(opts: RunOptions = {}): Promise<RunResult> {
  const requests = opts.requests ?? REQUESTS;
  const cache = await CacheDir.open(opts.cacheRoot ?? testCacheRoot());
  const dir = await mkdtemp(join(tmpdir(), 'strata-closures-'));
  try {
    const t0 = Date.now();
    const lockOne = async (request: ClosureRequest, profile: 'full' | 'slim'): Promise<Lockfile> => {
      const file = join(dir, `${slug(request)}-${profile}.yaml`);
      await writeFile(file, `packages: [${request.packages.join(', ')}]\nprofile: ${profile}\n`);
      return (await lock(await loadSpec(file), { cache })).lock;
    };
    const jobs = requests.flatMap((r) => [{ r, profile: 'full' as const }, { r, profile: 'slim' as const }]);
    // Lock the first spec alone: on a cold cache it downloads and parses the indexes once.
    const first = await lockOne(jobs[0]!.r, jobs[0]!.profile);
    const rest = await mapConcurrent(jobs.slice(1), 2, (j) => lockOne(j.r, j.profile));
    const locks = [first, ...rest];
    const t1 = Date.now();
    const view = await ArchiveView.build(cache, first, dir);
    const outcomes = await mapConcurrent(requests, 2, async (request, i) => {
      const o = await checkRequest(view, request, locks[2 * i]!, locks[2 * i + 1]!);
      opts.onOutcome?.(o);
      return o;
    });
    const t2 = Date.now();
    return {
      outcomes,
      suites: first.suites.map((s) => ({ suite: s.suite, date: s.date })),
      timings: { lockMs: t1 - t0, checkMs: t2 - t1 },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
