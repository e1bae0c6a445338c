// Owns `strata diff A B`: two images (OCI layouts, oci-archives, docker-archives, registry
// references) or lockfiles, or one of each.
// Prints the packages, layers, files and config that differ and the cause of each; --json
// prints the whole diff. Exit 0 whether or not they differ (it is a report, not a check).
import { readFile } from 'node:fs/promises';
import { StrataError } from '../../errors.js';
import { lockfileDigest, parseLockfile } from '../../debian/lockfile.js';
import { openImage } from '../../image/open-image.js';
import { diffImages, type DiffSide, type FileChange, type ImageDiff } from '../../verify/diff-images.js';
import { describeChange } from '../../verify/packages.js';
import { JSON_OPTION, type Command } from '../command.js';
import { formatBytes, type Output } from '../output.js';
import { printDifferences } from '../print-differences.js';
import { REMOTE_OPTIONS, remoteOptionsFromArgs } from '../remote-options.js';
import type { RemoteOptions } from '../../image/remote/index.js';

async function openSide(ref: string, registry: RemoteOptions): Promise<DiffSide> {
  if (/\.json$/.test(ref)) {
    let text: string;
    try {
      text = await readFile(ref, 'utf8');
    } catch (e) {
      throw new StrataError('IMAGE_NOT_FOUND', `${ref}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
    }
    const lock = parseLockfile(text, ref);
    return { kind: 'lockfile', lock, label: `lockfile ${ref}`, digest: `sha256:${lockfileDigest(lock)}` };
  }
  return { kind: 'image', image: await openImage(ref, { registry }) };
}

const SIGN: Record<FileChange['kind'], string> = { added: '+', removed: '-', changed: '~' };

function printDiff(out: Output, d: ImageDiff, limit: number): void {
  out.line(`A: ${d.a.label}  ${d.a.digest}`);
  out.line(`B: ${d.b.label}  ${d.b.digest}`);
  if (d.identical) {
    out.line(out.green(d.a.kind === d.b.kind ? 'identical' : 'the image holds exactly the lockfile\'s packages'));
    return;
  }
  for (const p of d.platforms) {
    const head = d.platforms.length > 1 ? ` (${p.platform})` : '';
    out.line();
    const kinds = ['upgraded', 'downgraded', 'added', 'removed', 'rebuilt'] as const;
    const counts = kinds.map((k) => [k, p.packages.filter((c) => c.kind === k).length] as const).filter(([, n]) => n > 0);
    out.line(out.bold(`Packages${head}: ${counts.length === 0 ? 'the same' : counts.map(([k, n]) => `${n} ${k}`).join(', ')}`));
    for (const c of p.packages.slice(0, limit)) out.line(`  ${c.kind === 'added' ? '+' : c.kind === 'removed' ? '-' : c.kind === 'downgraded' ? '↓' : c.kind === 'rebuilt' ? '=' : '↑'} ${describeChange(c)}  ${out.dim(`source ${c.source}${c.sourceFrom ? ` (was ${c.sourceFrom})` : ''}`)}`);
    if (p.packages.length > limit) out.line(`  … and ${p.packages.length - limit} more`);
    if (p.layers !== undefined) {
      const l = p.layers;
      out.line(out.bold(`Layers${head}: ${l.shared.length} shared, ${l.changed.length} changed, ${l.added.length} added, ${l.removed.length} removed`));
      out.line(`  a client holding A pulls ${l.pull.blobs} blob${l.pull.blobs === 1 ? '' : 's'}, ${formatBytes(l.pull.bytes)}, to get B${l.pull.note ? ` (${l.pull.note})` : ''}`);
      for (const c of l.changed.slice(0, limit)) out.line(`  ~ ${c.b.name}  ${(c.a.digest ?? c.a.diffId).slice(0, 19)} → ${(c.b.digest ?? c.b.diffId).slice(0, 19)}${c.a.diffId === c.b.diffId ? out.dim('  (same DiffID)') : ''}`);
      for (const x of l.added.slice(0, limit)) out.line(`  + ${x.name}${x.size !== undefined ? `  ${formatBytes(x.size)}` : ''}`);
      for (const x of l.removed.slice(0, limit)) out.line(`  - ${x.name}`);
    }
    if (p.files !== undefined) {
      const f = p.files;
      out.line(out.bold(`Files${head}: ${f.added.length} added, ${f.removed.length} removed, ${f.changed.length} changed`));
      const shown = [...f.changed, ...f.added, ...f.removed].slice(0, limit);
      for (const c of shown) {
        const fields = c.fields ? `  ${c.fields.map((x) => x.field).join(', ')}` : '';
        out.line(`  ${SIGN[c.kind]} ${c.path}${fields}  ${out.dim(`[${c.cause}${c.attribution ? `: ${c.attribution}` : ''}]`)}`);
      }
      const total = f.added.length + f.removed.length + f.changed.length;
      if (total > limit) out.line(`  … and ${total - limit} more (--limit N, or --json)`);
    }
  }
  const config = d.differences.filter((x) => x.level === 'config' || x.level === 'manifest' || x.level === 'index');
  if (config.length > 0) {
    out.line();
    out.line(out.bold('Config and manifest:'));
    printDifferences(out, config, limit);
  }
  out.line();
  const causes = Object.entries(d.summary).map(([c, n]) => `${n} ${c}`);
  out.line(out.bold(`Explanation: ${causes.length > 0 ? causes.join(', ') : 'no differences in packages, layers, files or config'}`));
  const rest = d.differences.filter((x) => !(x.level === 'config' || x.level === 'manifest' || x.level === 'index') && !(x.level === 'package' && x.cause === 'package'));
  printDifferences(out, rest, limit);
}

export const diffCommand: Command = {
  name: 'diff',
  summary: 'Explain the differences between two images or lockfiles: packages, layers, files, config, and their causes.',
  description: [
    'A and B are each an image (an OCI layout directory, an oci-archive or a docker-archive, optionally PATH:TAG,',
    'or oci:DIR:TAG, oci-archive:FILE:TAG, docker-archive:FILE; or a registry reference, docker://REF or',
    'HOST/NAME:TAG, pulled and checked first) or a lockfile (*.json). Two lockfiles compare',
    'their packages and suites; an image and a lockfile compare packages. Each difference gets a cause class:',
    'package, compressor, timestamp, ownership, ordering, metadata, content, integrity, tool or input.',
  ].join('\n'),
  positionals: [
    { name: 'A', required: true, description: 'the first image or lockfile (what a client already holds)' },
    { name: 'B', required: true, description: 'the second image or lockfile' },
  ],
  options: [{ name: 'limit', type: 'string', value: 'N', description: 'how many packages, layers and files to list per section (default 20)' }, ...REMOTE_OPTIONS, JSON_OPTION],
  examples: ['strata diff redis-old.oci redis.oci', 'strata diff examples/redis.lock.json new/redis.lock.json', 'strata diff redis.oci:latest docker-archive:redis.tar', 'strata diff docker://registry.example.org/team/redis:7 redis.oci'],
  async run(args, out) {
    const [ra, rb] = args.positionals as [string, string];
    const limitText = (args.options.limit as string | undefined) ?? '20';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) throw new StrataError('USAGE', 'diff: --limit must be a non-negative integer');
    const registry = await remoteOptionsFromArgs(args);
    const a = await openSide(ra, registry);
    try {
      const b = await openSide(rb, registry);
      try {
        out.progress('comparing…');
        const d = await diffImages(a, b);
        out.progressDone();
        if (out.json) out.data(d);
        else printDiff(out, d, limit);
        return 0;
      } finally {
        if (b.kind === 'image') await b.image.close();
      }
    } finally {
      if (a.kind === 'image') await a.image.close();
    }
  },
};
