// Owns `strata cache ls|du|gc`: the environments in the cache and what they hold, the disk
// use of each part of the cache, and freeing the unpacked environments and layers.
import { StrataError } from '../../errors.js';
import { RootfsCache } from '../../env/rootfs-cache.js';
import { CACHE_OPTION, JSON_OPTION, type Command } from '../command.js';
import { openCacheFromArgs } from '../context.js';
import { formatBytes } from '../output.js';

const ACTIONS = ['ls', 'du', 'gc'] as const;

function age(from: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export const cacheCommand: Command = {
  name: 'cache',
  summary: 'Show (ls, du) and free (gc) the cache: downloads, unpacked layers and environments.',
  description: [
    'ls: the environments (unpacked root file systems) and what each was made from, most recent first.',
    'du: the disk use of each part of the cache (a hard-linked file counts once).',
    'gc: removes environments not used for --older-than DAYS (default 30), or all with --all, except',
    'those running now, then every unpacked layer no environment uses and stale temporary files.',
    'Downloads, parsed indexes and locks stay: a later start rebuilds the same environment from them.',
  ].join('\n'),
  positionals: [{ name: 'ACTION', required: true, description: 'ls, du or gc' }],
  options: [
    { name: 'older-than', type: 'string', value: 'DAYS', description: 'gc: environments unused for this many days (default 30)' },
    { name: 'all', type: 'boolean', description: 'gc: every environment and unpacked layer not in use now' },
    CACHE_OPTION,
    JSON_OPTION,
  ],
  examples: ['strata cache ls', 'strata cache du', 'strata cache gc --older-than 7', 'strata cache gc --all'],
  async run(args, out) {
    const [action] = args.positionals as [string];
    if (!(ACTIONS as readonly string[]).includes(action)) throw new StrataError('USAGE', `cache: ${JSON.stringify(action)} is not one of ${ACTIONS.join(', ')}`);
    const cache = await openCacheFromArgs(args);
    const rootfs = new RootfsCache(cache);
    const now = new Date();
    if (action === 'ls') {
      const envs = await rootfs.list();
      if (out.json) {
        out.data({
          cache: cache.root,
          environments: envs.map((e) => ({
            key: e.envKey,
            path: cache.envTreePath(e.envKey),
            layers: e.layers,
            inUse: e.inUse,
            lastUsed: e.lastUsed.toISOString(),
            targets: e.targets.map((t) => ({ key: t.key, kind: t.record.kind, name: t.record.name, lastUsed: t.lastUsed.toISOString(), packages: t.record.packages?.length, addedShell: t.record.addedShell })),
          })),
        });
        return 0;
      }
      if (envs.length === 0) out.line(`no environments in ${cache.root}`);
      for (const e of envs) {
        out.line(`${out.bold(e.envKey.slice(0, 12))}  ${e.layers.length} layers, used ${age(e.lastUsed, now)}${e.inUse ? out.green(' (in use)') : ''}`);
        for (const t of e.targets) {
          const what = t.record.packages !== undefined ? `, ${t.record.packages.length} packages` : '';
          out.line(`  ${t.record.kind} ${t.record.name}${what}${t.record.addedShell ? ` (+ ${t.record.addedShell.join(', ')})` : ''}`);
        }
      }
      return 0;
    }
    if (action === 'du') {
      const areas = await rootfs.du();
      const total = areas.reduce((n, a) => n + a.bytes, 0);
      if (out.json) {
        out.data({ cache: cache.root, areas, total });
        return 0;
      }
      const width = Math.max(...areas.map((a) => a.area.length));
      for (const a of areas) out.line(`${a.area.padEnd(width)}  ${formatBytes(a.bytes).padStart(10)}  ${a.files} file${a.files === 1 ? '' : 's'}`);
      out.line(`${'total'.padEnd(width)}  ${formatBytes(total).padStart(10)}  (${cache.root})`);
      return 0;
    }
    let days = 30;
    if (args.options['older-than'] !== undefined) {
      days = Number(args.options['older-than']);
      if (!Number.isFinite(days) || days < 0) throw new StrataError('USAGE', 'cache gc: --older-than takes a number of days');
    }
    const result = await rootfs.gc({ olderThan: new Date(now.getTime() - days * 86400_000), all: args.options.all === true, now });
    if (out.json) out.data(result);
    else out.line(`removed ${result.environments} environments, ${result.layers} unpacked layers and ${result.tempFiles} temporary files: ${formatBytes(result.bytes)} freed`);
    return 0;
  },
};
