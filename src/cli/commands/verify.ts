// Owns `strata verify`: rebuilds a spec's image from its lockfile under perturbations (or
// checks a given image against a fresh rebuild) and prints the verdict, the rebuilds and the
// explained differences; --json prints the whole report, --html FILE writes a one-page report.
// Exit 0 when every level matches, 3 when not (output.ts's table).
import { access, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StrataError } from '../../errors.js';
import { parseVary, PERTURBATIONS, DESCRIPTIONS } from '../../verify/perturbations.js';
import { verifyReportHtml } from '../../verify/report-html.js';
import { verify, type VerifyReport } from '../../verify/verify.js';
import type { ImageComparison } from '../../verify/compare-images.js';
import { CACHE_OPTION, JSON_OPTION, LOCKFILE_OPTION, type Command, type ParsedArgs } from '../command.js';
import { loadSpecAndLock, openCacheFromArgs } from '../context.js';
import { reportError, type Output } from '../output.js';
import { printDifferences } from '../print-differences.js';
import { REMOTE_OPTIONS, remoteOptionsFromArgs } from '../remote-options.js';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** TARGET → the spec, the lockfile, and the image to check (when TARGET is one). */
async function resolveTarget(args: ParsedArgs): Promise<{ specPath: string; lockfile?: string; against?: string }> {
  const [target] = args.positionals as [string];
  const spec = args.options.spec as string | undefined;
  const against = args.options.against as string | undefined;
  if (spec !== undefined) {
    if (against !== undefined) throw new StrataError('USAGE', 'verify: give the image either as TARGET (with --spec) or with --against, not both');
    return { specPath: spec, against: target };
  }
  if (/\.ya?ml$/.test(target)) return { specPath: target, ...(against !== undefined ? { against } : {}) };
  if (/\.json$/.test(target)) {
    const base = target.replace(/(\.lock)?\.json$/, '');
    for (const ext of ['.yaml', '.yml']) {
      if (await exists(`${base}${ext}`)) return { specPath: `${base}${ext}`, lockfile: target, ...(against !== undefined ? { against } : {}) };
    }
    throw new StrataError('USAGE', `verify: ${target} is a lockfile, and its spec (${base}.yaml) is not beside it`, {
      hint: 'the spec holds the image fields (accounts, entrypoint, paths) a rebuild needs: pass the spec, or the lockfile with --spec SPEC',
    });
  }
  throw new StrataError('USAGE', `verify: ${target} is not a spec or a lockfile; to check an image, say which spec it should be built from`, {
    hint: `strata verify ${target} --spec SPEC   (or: strata verify SPEC --against ${target})`,
  });
}

const seconds = (ms: number | undefined) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`);

function levelSummary(cmp: ImageComparison): string {
  const count = (level: string) => {
    const rows = cmp.levels.filter((r) => r.level === level && r.same !== null);
    const bad = rows.filter((r) => r.same === false).length;
    return { n: rows.length, bad };
  };
  const parts: string[] = [];
  for (const [level, label] of [['index', 'index'], ['manifest', 'manifest'], ['config', 'config'], ['diffid', 'DiffIDs'], ['blob', 'blobs']] as const) {
    const { n, bad } = count(level);
    if (n === 0) continue;
    parts.push(`${n > 1 || level === 'diffid' || level === 'blob' ? `${n} ` : ''}${label}${bad > 0 ? ` (${bad} differ)` : ''}`);
  }
  return parts.join(', ');
}

function printReport(out: Output, r: VerifyReport): void {
  out.line(`${out.bold(r.digest)}  ${r.reproducible ? out.green('reproducible') : out.red('NOT reproducible')}`);
  const rows = [r.control, ...r.rebuilds];
  const width = Math.max(...rows.map((b) => b.name.length));
  for (const b of rows) {
    const vary = b.vary.map((p) => (p === 'time' && b.clock ? `time (${b.clock})` : p === 'shuffle' && b.shuffle ? `shuffle (${b.shuffle})` : p)).join(', ');
    const verdict = b === r.control ? 'reference: cold cache, 1 worker' : b.error ? out.red(`failed: ${b.error.message}`) : b.identical ? out.green('identical') : out.red('differs');
    out.line(`  ${b.name.padEnd(width)}  ${(b.digest ?? '—').slice(0, 19)}  ${seconds(b.durationMs).padStart(6)}  ${verdict}${vary ? `  ${out.dim(vary)}` : ''}`);
  }
  const firstCmp = r.rebuilds.find((b) => b.comparison)?.comparison;
  if (firstCmp !== undefined) out.line(`  compared: ${levelSummary(firstCmp)}`);
  if (r.against !== undefined) {
    out.line(`  ${r.against.label}: ${r.against.digest.slice(0, 19)}  ${r.against.identical ? out.green('identical to the rebuild') : out.red('differs from the rebuild')}`);
    out.line(`  compared: ${levelSummary(r.against.comparison)}`);
  }
  if (r.culprits !== undefined) out.line(`  perturbations that alone reproduce a difference: ${r.culprits.join(', ') || 'none (an interaction of several)'}`);
  for (const n of r.notes) out.line(`  ${out.dim(n)}`);
  if (r.differences.length > 0) {
    out.line();
    out.line(`${r.differences.length} difference${r.differences.length === 1 ? '' : 's'}:`);
    printDifferences(out, r.differences, 20);
  }
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Rebuild the image under perturbations (or check a given image) and compare every level; explain any difference.',
  description: [
    'TARGET is a spec, or a lockfile with its spec beside it. A control build and an experiment that varies',
    'every chosen perturbation at once run in their own processes from caches holding only the verified .debs;',
    'a third rebuild reuses the control\'s warm cache. Index, manifests, configs, DiffIDs and blobs are compared;',
    'when the experiment differs, each perturbation is rebuilt alone to find the cause.',
    `Perturbations: ${PERTURBATIONS.join(', ')}.`,
    ...PERTURBATIONS.map((p) => `  ${p.padEnd(8)} ${DESCRIPTIONS[p]}`),
    'With --against (default: no perturbation), the given image is compared with one fresh rebuild.',
  ].join('\n'),
  positionals: [{ name: 'TARGET', required: true, description: 'a spec, or a lockfile (its spec beside it); an image with --spec' }],
  options: [
    { name: 'against', type: 'string', value: 'IMAGE', description: 'check this image (OCI layout dir, oci-archive, docker-archive, PATH:TAG; or a registry reference, docker://REF) against a fresh rebuild' },
    { name: 'spec', type: 'string', value: 'SPEC', description: 'when TARGET is an image: the spec to rebuild it from' },
    { name: 'vary', type: 'string', multiple: true, value: 'LIST', description: 'perturbations, comma-separated (default: all; --vary=-time,-cache leaves those out)' },
    { name: 'arch', type: 'string', multiple: true, value: 'ARCH', description: 'only these architectures of the lock (repeatable)' },
    { name: 'html', type: 'string', value: 'FILE', description: 'write a one-page HTML report' },
    { name: 'keep', type: 'boolean', description: 'keep the rebuilt layouts and their caches (the report names the directory)' },
    ...REMOTE_OPTIONS,
    LOCKFILE_OPTION,
    CACHE_OPTION,
    JSON_OPTION,
  ],
  examples: [
    'strata verify examples/redis.yaml',
    'strata verify examples/redis.yaml --vary time,shuffle --html verify.html',
    'strata verify examples/redis.yaml --against redis.oci',
    'strata verify examples/redis.yaml --against docker://registry.example.org/team/redis:7',
    'strata verify examples/redis.yaml --against 127.0.0.1:5000/redis:latest --insecure',
  ],
  async run(args, out) {
    const target = await resolveTarget(args);
    const lockArgs: ParsedArgs = target.lockfile !== undefined ? { ...args, options: { ...args.options, lockfile: target.lockfile } } : args;
    const { loaded, lock, lockPath } = await loadSpecAndLock(lockArgs, target.specPath);
    const cache = await openCacheFromArgs(args);
    const varyGiven = args.options.vary as string[] | undefined;
    const vary = target.against !== undefined && varyGiven === undefined ? [] : parseVary(varyGiven);
    const archs = args.options.arch as string[] | undefined;
    const report = await verify({
      loaded,
      lock,
      lockfilePath: lockPath,
      cache,
      vary,
      ...(target.against !== undefined ? { against: target.against, registry: await remoteOptionsFromArgs(args) } : {}),
      ...(archs !== undefined ? { architectures: archs } : {}),
      keep: args.options.keep === true,
      onProgress: (p) => out.progress(p.phase === 'fetch' ? `fetch ${p.done}/${p.total} ${p.name}` : p.phase === 'rebuild' ? `rebuild ${p.name} ${p.state}` : `comparing ${p.name}`),
    });
    out.progressDone();
    const html = args.options.html as string | undefined;
    if (html !== undefined) await writeFile(resolve(html), verifyReportHtml(report));
    if (out.json) out.data(report);
    else {
      printReport(out, report);
      if (html !== undefined) out.line(`  report: ${resolve(html)}`);
      if (report.workDir !== undefined) out.line(`  kept: ${report.workDir}`);
    }
    if (report.reproducible) return 0;
    const what = report.against !== undefined && !report.against.identical ? `${report.against.label} is not what ${target.specPath} builds` : `rebuilds of ${target.specPath} differ`;
    return reportError(
      new StrataError('NOT_REPRODUCIBLE', `${what} (${report.differences.length} difference${report.differences.length === 1 ? '' : 's'}; the first: ${report.differences[0]?.cause ?? 'build failed'} at ${report.differences[0]?.where ?? '?'})`, {
        hint: html === undefined ? 'rerun with --html FILE for the tables of every level, or --json for the whole report' : `open ${html} for the tables of every level`,
      }),
      out,
    );
  },
};
