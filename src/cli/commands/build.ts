// Owns `strata build`: the image of a spec and its lockfile, written as an OCI layout
// directory (default), an oci-archive or a docker-archive.
import { basename, resolve } from 'node:path';
import { StrataError } from '../../errors.js';
import { buildImage } from '../../build/build.js';
import { writeDockerArchive, writeOciArchive, writeOciLayout } from '../../image/layout.js';
import { CACHE_OPTION, JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { loadSpecAndLock, openCacheFromArgs, parsedSpecMemo } from '../context.js';
import { formatBytes } from '../output.js';

const FORMATS = ['oci', 'oci-archive', 'docker-archive'] as const;
type Format = (typeof FORMATS)[number];

export function specName(specPath: string): string {
  return basename(specPath).replace(/\.(ya?ml|json)$/, '');
}

function defaultOutput(specPath: string, format: Format): string {
  const name = specName(specPath);
  return format === 'oci' ? `${name}.oci` : `${name}.${format === 'oci-archive' ? 'oci' : 'docker'}.tar`;
}

function sourceDateEpoch(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]+$/.test(v)) throw new StrataError('USAGE', `SOURCE_DATE_EPOCH is ${JSON.stringify(v)}, not a number of seconds`);
  return Number(v);
}

export const buildCommand: Command = {
  name: 'build',
  summary: 'Build the image of a spec from its lockfile: bit-for-bit reproducible, no engine, no root, no scripts.',
  description: [
    'Reads the locked .debs (verified by sha256), replaces maintainer scripts with the effects catalogue,',
    'and writes canonical layers. The image depends only on the lockfile, the spec and strata\'s version.',
    'The epoch (timestamps) comes from the spec\'s epoch:, else SOURCE_DATE_EPOCH, else the lockfile.',
  ].join('\n'),
  positionals: [{ name: 'SPEC', required: true, description: 'the spec file (its lockfile must be current: strata lock SPEC)' }],
  options: [
    { name: 'output', short: 'o', type: 'string', value: 'PATH', description: 'where to write the image (default: NAME.oci, or NAME.oci.tar / NAME.docker.tar)' },
    { name: 'format', type: 'string', value: 'FORMAT', description: 'oci (a layout directory, default), oci-archive or docker-archive' },
    { name: 'tag', type: 'string', value: 'TAG', description: 'the tag inside the layout or archive (default: latest)' },
    { name: 'arch', type: 'string', multiple: true, value: 'ARCH', description: 'only these architectures of the lock (repeatable)' },
    { name: 'workers', type: 'string', value: 'N', description: 'compression threads (default: the core count; the bytes do not depend on it)' },
    LOCKFILE_OPTION,
    CACHE_OPTION,
    JSON_OPTION,
  ],
  examples: ['strata build examples/redis.yaml', 'strata build examples/redis.yaml --format docker-archive -o redis.tar && podman load -i redis.tar', 'skopeo copy oci:redis.oci:latest docker://127.0.0.1:5000/redis:latest'],
  async run(args, out) {
    const [specPath] = args.positionals as [string];
    const format = (args.options.format as string | undefined) ?? 'oci';
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new StrataError('USAGE', `build: --format ${format} is not one of ${FORMATS.join(', ')}`);
    }
    const tag = (args.options.tag as string | undefined) ?? 'latest';
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw new StrataError('USAGE', `build: --tag ${JSON.stringify(tag)} is not a valid tag`);
    let workers: number | undefined;
    if (args.options.workers !== undefined) {
      workers = Number(args.options.workers);
      if (!Number.isInteger(workers) || workers < 0 || workers > 64) throw new StrataError('USAGE', 'build: --workers must be an integer from 0 to 64');
    }
    const output = resolve((args.options.output as string | undefined) ?? defaultOutput(specPath, format as Format));
    const cache = await openCacheFromArgs(args);
    const { loaded, lock } = await loadSpecAndLock(args, specPath, parsedSpecMemo(cache));
    const opts: Parameters<typeof buildImage>[2] = {
      cache,
      onProgress: (p) => out.progress(p.phase === 'layer' ? `layers ${p.done}/${p.total} ${p.name}${p.cached ? ' (cached)' : ''}` : `${p.phase} ${p.done}/${p.total} ${p.name}`),
    };
    if (workers !== undefined) opts.workers = workers;
    const archs = args.options.arch as string[] | undefined;
    if (archs !== undefined) opts.architectures = archs;
    const epoch = sourceDateEpoch();
    if (epoch !== undefined) opts.sourceDateEpoch = epoch;
    const result = await buildImage(loaded, lock, opts);
    if (format === 'oci') await writeOciLayout(output, result.image, tag);
    else if (format === 'oci-archive') await writeOciArchive(output, result.image, tag, result.epoch);
    else await writeDockerArchive(output, result.image, `strata/${specName(specPath)}:${tag}`, result.epoch);
    out.progressDone();
    for (const p of result.platforms) for (const w of p.warnings) out.warn(`${p.architecture}: ${w}`);
    const summary = result.platforms.map((p) => ({
      architecture: p.architecture,
      manifest: p.manifestDigest,
      config: p.configDigest,
      layers: p.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, size: l.size, uncompressedSize: l.uncompressedSize, kind: l.kind, packages: l.packages, cached: l.cached })),
      compressedBytes: p.layers.reduce((n, l) => n + l.size, 0),
      uncompressedBytes: p.layers.reduce((n, l) => n + l.uncompressedSize, 0),
      warnings: p.warnings,
    }));
    if (out.json) {
      out.data({ digest: result.digest, output, format, tag, epoch: result.epoch, lockDigest: result.lockDigest, platforms: summary });
      return 0;
    }
    out.line(`${out.bold(result.digest)}`);
    out.line(`  written to ${output} (${format}, tag ${tag})`);
    for (const s of summary) {
      const cached = s.layers.filter((l) => l.cached).length;
      out.line(`  ${s.architecture}: ${s.layers.length} layers (${cached} from cache), ${formatBytes(s.compressedBytes)} compressed, ${formatBytes(s.uncompressedBytes)} unpacked`);
    }
    return 0;
  },
};
