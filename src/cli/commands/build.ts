// Owns `strata build`: the image of a spec and its lockfile, written as an OCI layout
// directory (default), an oci-archive or a docker-archive.
import { resolve } from 'node:path';
import { StrataError } from '../../errors.js';
import { checkOutputPath, writeDockerArchive, writeOciArchive, writeOciLayout } from '../../image/layout.js';
import { cleanOutputOnInterrupt } from '../interrupt.js';
import { loadSpecAndLock } from '../context.js';
import type { PushResult } from '../../image/remote/index.js';
import { CACHE_OPTION, JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { formatBytes } from '../output.js';
import { BUILDER_ID_OPTION, buildFromSpec, specName, evidenceOptions, evidencePath, printPush, pushProgress, pushSummary, writeEvidenceFiles, pushRemembering } from '../image-source.js';
import { REMOTE_OPTIONS, remoteOptionsFromArgs } from '../remote-options.js';

const FORMATS = ['oci', 'oci-archive', 'docker-archive'] as const;
type Format = (typeof FORMATS)[number];


function defaultOutput(specPath: string, format: Format): string {
  const name = specName(specPath);
  return format === 'oci' ? `${name}.oci` : `${name}.${format === 'oci-archive' ? 'oci' : 'docker'}.tar`;
}

export { specName };

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
    { name: 'compression', type: 'string', value: 'C', description: 'layer compression: gzip (default, or layers.compression of the spec) or zstd' },
    { name: 'sbom', type: 'boolean', description: 'also write SPDX and CycloneDX SBOMs and the provenance beside the output, and attach them to the layout' },
    { name: 'push', type: 'string', value: 'REF', description: 'also push the image, with its SBOMs and provenance, to REF (see strata push)' },
    BUILDER_ID_OPTION,
    ...REMOTE_OPTIONS,
    LOCKFILE_OPTION,
    CACHE_OPTION,
    JSON_OPTION,
  ],
  examples: ['strata build examples/redis.yaml', 'strata build examples/redis.yaml --sbom', 'strata build examples/redis.yaml --push ghcr.io/org/redis:7', 'strata build examples/redis.yaml --format docker-archive -o redis.tar && podman load -i redis.tar', 'skopeo copy oci:redis.oci:latest docker://127.0.0.1:5000/redis:latest'],
  async run(args, out) {
    const [specPath] = args.positionals as [string];
    const format = (args.options.format as string | undefined) ?? 'oci';
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new StrataError('USAGE', `build: --format ${format} is not one of ${FORMATS.join(', ')}`);
    }
    const tag = (args.options.tag as string | undefined) ?? 'latest';
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw new StrataError('USAGE', `build: --tag ${JSON.stringify(tag)} is not a valid tag`);
    const output = resolve((args.options.output as string | undefined) ?? defaultOutput(specPath, format as Format));
    const pushRef = args.options.push as string | undefined;
    const remote = pushRef !== undefined ? await remoteOptionsFromArgs(args) : undefined;
    // The registry client and the evidence writers are loaded only when asked for: a plain
    // build starts sooner without them.
    const registry = pushRef !== undefined ? await import('../../image/remote/index.js') : undefined;
    registry?.parseReference(pushRef!, null);
    const attestations = args.options.sbom === true || pushRef !== undefined ? await import('../../build/attestations.js') : undefined;
    // Refuse what would fail at the end before spending the build on it.
    await checkOutputPath(output, format === 'oci' ? 'layout' : 'archive');
    if (format === 'docker-archive') {
      const { lock: early } = await loadSpecAndLock(args, specPath);
      const archs = (args.options.arch as string[] | undefined) ?? early.inputs.architectures;
      if (archs.length > 1) {
        throw new StrataError('USAGE', `build: a docker-archive holds one platform, and this image has ${archs.length} (${archs.join(', ')})`, {
          hint: `add --arch ${archs[0]} (a docker-archive per architecture), or use --format oci-archive for all of them`,
        });
      }
    }
    cleanOutputOnInterrupt(output);
    const { lock, result } = await buildFromSpec(args, out, specPath);
    let image = result.image;
    const evidence = attestations !== undefined ? attestations.buildEvidence(lock, result, evidenceOptions(args, specPath)) : [];
    if (args.options.sbom === true) {
      if (format !== 'docker-archive') image = attestations!.attachEvidence(image, evidence);
      await writeEvidenceFiles(output, specName(specPath), evidence, result.platforms.length > 1);
    }
    if (format === 'oci') await writeOciLayout(output, image, tag);
    else if (format === 'oci-archive') await writeOciArchive(output, image, tag, result.epoch);
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
    let pushed: (PushResult & { reference: string }) | undefined;
    if (pushRef !== undefined) {
      pushed = await pushRemembering(args, registry!.parseReference(pushRef, null), attestations!.attachEvidence(result.image, evidence), { ...remote!, onProgress: pushProgress(out) });
      out.progressDone();
    }
    const sbomFiles = args.options.sbom === true ? evidence.map((d) => evidencePath(output, specName(specPath), d, result.platforms.length > 1)) : undefined;
    if (out.json) {
      out.data({ digest: result.digest, output, format, tag, epoch: result.epoch, lockDigest: result.lockDigest, platforms: summary, ...(sbomFiles ? { sbom: sbomFiles } : {}), ...(pushed ? { push: pushSummary(pushed) } : {}) });
      return 0;
    }
    out.line(`${out.bold(result.digest)}`);
    out.line(`  written to ${output} (${format}, tag ${tag})`);
    for (const s of summary) {
      const cached = s.layers.filter((l) => l.cached).length;
      out.line(`  ${s.architecture}: ${s.layers.length} layers (${cached} from cache), ${formatBytes(s.compressedBytes)} compressed, ${formatBytes(s.uncompressedBytes)} unpacked`);
    }
    for (const f of sbomFiles ?? []) out.line(`  evidence: ${f}`);
    if (pushed !== undefined) printPush(out, pushed);
    return 0;
  },
};
