// Owns `strata lock`: resolve a spec into a verified, pinned closure and write the lockfile.
import { StrataError, isStrataError } from '../../errors.js';
import { lock, staleReasons } from '../../build/lock.js';
import type { Lockfile } from '../../debian/lockfile.js';
import { loadSpec } from '../../spec/load-spec.js';
import { CACHE_OPTION, JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { archiveProgress, lockfilePathFor, openCacheFromArgs, readLockfileOptional, writeLockfile } from '../context.js';
import { formatBytes } from '../output.js';

interface Change {
  architecture: string;
  name: string;
  from?: string;
  to?: string;
}

function changes(before: Lockfile | undefined, after: Lockfile): Change[] {
  const out: Change[] = [];
  for (const arch of Object.keys(after.architectures).sort()) {
    const old = new Map((before?.architectures[arch]?.packages ?? []).map((p) => [p.name, p.version]));
    const now = new Map(after.architectures[arch]!.packages.map((p) => [p.name, p.version]));
    for (const [name, version] of now) {
      if (!old.has(name)) out.push({ architecture: arch, name, to: version });
      else if (old.get(name) !== version) out.push({ architecture: arch, name, from: old.get(name)!, to: version });
    }
    for (const [name, version] of old) if (!now.has(name)) out.push({ architecture: arch, name, from: version });
  }
  return out;
}

export const lockCommand: Command = {
  name: 'lock',
  summary: 'Resolve a spec into a verified, pinned package closure and write its lockfile.',
  description: [
    'Fetches each suite\'s InRelease and checks its OpenPGP signature against the keyring, fetches',
    'the Packages indexes it lists and checks their sha256, resolves the closure of the requested',
    'packages for each architecture, and writes NAME.lock.json beside NAME.yaml.',
    'An existing lock whose inputs still match the spec is kept; when the inputs changed, locked',
    'versions are kept where they still fit. --update re-resolves everything, or only PKG....',
  ].join('\n'),
  positionals: [
    { name: 'SPEC', required: true, description: 'the spec file (see docs/spec.md)' },
    { name: 'PKG', required: false, variadic: true, description: 'with --update: re-resolve only these packages' },
  ],
  options: [
    { name: 'update', type: 'boolean', description: 're-resolve against the current archive (all packages, or only PKG...)' },
    { name: 'check', type: 'boolean', description: 'do not write; exit 1 when the lock is missing or no longer matches the spec' },
    LOCKFILE_OPTION,
    CACHE_OPTION,
    JSON_OPTION,
  ],
  examples: ['strata lock examples/redis.yaml', 'strata lock examples/redis.yaml --update', 'strata lock examples/redis.yaml --update libssl3', 'strata lock examples/redis.yaml --check'],
  async run(args, out) {
    const [specPath, ...names] = args.positionals as [string, ...string[]];
    if (names.length > 0 && args.options.update !== true) {
      throw new StrataError('USAGE', `lock: package names (${names.join(' ')}) are only accepted with --update`, { hint: 'strata lock SPEC --update PKG...' });
    }
    const loaded = await loadSpec(specPath);
    const lockPath = lockfilePathFor(args, specPath);
    let previous: Lockfile | undefined;
    try {
      previous = await readLockfileOptional(lockPath);
    } catch (e) {
      // A damaged lock (a bad merge, a truncated file) must not block writing a good one.
      if (!isStrataError(e, 'LOCK_INVALID') || args.options.check === true) throw e;
      out.warn(`${e.message}; resolving anew and replacing it`);
    }
    if (args.options.check === true) {
      if (previous === undefined) throw new StrataError('LOCK_STALE', `${lockPath} does not exist`, { hint: `run \`strata lock ${specPath}\`` });
      const stale = staleReasons(loaded, previous);
      if (stale.length > 0) {
        throw new StrataError('LOCK_STALE', `${lockPath} does not match ${specPath}: ${stale.join('; ')}`, {
          detail: { reasons: stale },
          hint: `run \`strata lock ${specPath}\``,
        });
      }
      if (out.json) out.data({ lockfile: lockPath, upToDate: true });
      else out.line(`${lockPath} matches ${specPath}`);
      return 0;
    }
    const cache = await openCacheFromArgs(args);
    const opts: Parameters<typeof lock>[1] = { cache, onProgress: archiveProgress(out) };
    if (previous !== undefined) opts.previous = previous;
    if (args.options.update === true) opts.update = names;
    if (names.length > 0 && previous === undefined) {
      throw new StrataError('USAGE', `lock: --update ${names.join(' ')} needs an existing lock to keep the other packages from`, { hint: `run \`strata lock ${specPath}\` first` });
    }
    const result = await lock(loaded, opts);
    await writeLockfile(lockPath, result.lock);
    out.progressDone();
    const diff = changes(previous, result.lock);
    const summary = Object.entries(result.lock.architectures).map(([arch, c]) => ({
      architecture: arch,
      packages: c.packages.length,
      downloadBytes: c.packages.reduce((n, p) => n + p.size, 0),
      installedBytes: c.packages.reduce((n, p) => n + p.installedSize * 1024, 0),
      excluded: c.excluded.map((x) => x.name),
    }));
    if (out.json) {
      out.data({ lockfile: lockPath, resolved: result.resolved, architectures: summary, changes: diff });
      return 0;
    }
    out.line(`${result.resolved ? 'locked' : 'kept'} ${specPath} → ${lockPath}${result.resolved ? '' : ' (inputs unchanged; use --update to re-resolve)'}`);
    for (const s of summary) {
      out.line(
        `  ${s.architecture}: ${s.packages} packages, ${formatBytes(s.downloadBytes)} of .debs, ${formatBytes(s.installedBytes)} installed` +
          (s.excluded.length > 0 ? `; left out ${s.excluded.join(', ')}` : ''),
      );
    }
    out.line(`  suites: ${result.lock.suites.map((s) => `${s.suite} (${s.date})`).join(', ')}`);
    if (previous !== undefined && result.resolved) {
      if (diff.length === 0) out.line('  no package changed');
      for (const c of diff) {
        const arrow = c.from === undefined ? `+ ${c.name} ${c.to}` : c.to === undefined ? `- ${c.name} ${c.from}` : `~ ${c.name} ${c.from} → ${c.to}`;
        out.line(`  ${c.architecture} ${arrow}`);
      }
    }
    return 0;
  },
};
