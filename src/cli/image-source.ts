// Owns what `strata build` and `strata push` share: building a spec from its lockfile with
// the build options of the command line, the evidence files written beside an image
// (NAME.spdx.json, NAME.cdx.json, NAME.provenance.json; NAME.ARCH.… per platform of a
// multi-architecture image), reading an image to push (a spec, an OCI layout directory or an
// oci-archive), and reporting a push.
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StrataError } from '../errors.js';
import type { EvidenceDocument, EvidenceOptions } from '../build/attestations.js';
import { buildImage, type BuildResult } from '../build/build.js';
import type { Lockfile } from '../debian/lockfile.js';
import type { ImageReference, PushableImage, PushProgress, PushResult } from '../image/remote/index.js';
import type * as Registry from '../image/remote/index.js';
import { knownLocations, rememberLocations } from './blob-locations.js';
import type { OptionDef, ParsedArgs } from './command.js';
import { isTarFile, loadSpecAndLock, openCacheFromArgs, writeFileAtomic, parsedSpecMemo } from './context.js';
import { formatBytes, type Output } from './output.js';

export const BUILDER_ID_OPTION: OptionDef = { name: 'builder-id', type: 'string', value: 'URI', description: 'the provenance\'s builder.id (default: urn:dev.strata:builder:cli); e.g. your CI workflow\'s URI' };

export function specName(specPath: string): string {
  return basename(specPath).replace(/\.(ya?ml|json)$/, '');
}

function sourceDateEpoch(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]+$/.test(v)) throw new StrataError('USAGE', `SOURCE_DATE_EPOCH is ${JSON.stringify(v)}, not a number of seconds`);
  return Number(v);
}

/** Builds SPEC from its lockfile with --workers, --arch and SOURCE_DATE_EPOCH. */
export async function buildFromSpec(args: ParsedArgs, out: Output, specPath: string): Promise<{ lock: Lockfile; result: BuildResult }> {
  let workers: number | undefined;
  if (args.options.workers !== undefined) {
    workers = Number(args.options.workers);
    if (!Number.isInteger(workers) || workers < 0 || workers > 64) throw new StrataError('USAGE', '--workers must be an integer from 0 to 64');
  }
  const cache = await openCacheFromArgs(args);
  const { loaded, lock } = await loadSpecAndLock(args, specPath, parsedSpecMemo(cache));
  const opts: Parameters<typeof buildImage>[2] = {
    cache,
    onProgress: (p) => out.progress(p.phase === 'layer' ? `layers ${p.done}/${p.total} ${p.name}${p.cached ? ' (cached)' : ''}` : `${p.phase} ${p.done}/${p.total} ${p.name}`),
  };
  if (workers !== undefined) opts.workers = workers;
  const compression = args.options.compression as string | undefined;
  if (compression !== undefined) {
    if (compression !== 'gzip' && compression !== 'zstd') throw new StrataError('USAGE', `--compression ${compression}: choose gzip or zstd`);
    opts.compression = compression;
  }
  const archs = args.options.arch as string[] | undefined;
  if (archs !== undefined) opts.architectures = archs;
  const epoch = sourceDateEpoch();
  if (epoch !== undefined) opts.sourceDateEpoch = epoch;
  return { lock, result: await buildImage(loaded, lock, opts) };
}

export function evidenceOptions(args: ParsedArgs, specPath: string): EvidenceOptions {
  const o: EvidenceOptions = { name: specName(specPath), specName: basename(specPath) };
  const id = args.options['builder-id'];
  if (typeof id === 'string') {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(id)) throw new StrataError('USAGE', `--builder-id ${JSON.stringify(id)} is not a URI`);
    o.builderId = id;
  }
  return o;
}

/** Where a document goes: beside OUTPUT, named after the spec. */
export function evidencePath(output: string, name: string, doc: EvidenceDocument, perPlatform: boolean): string {
  const arch = perPlatform && doc.architecture !== undefined ? `.${doc.architecture}` : '';
  return join(dirname(output), `${name}${arch}.${doc.suffix}`);
}

export async function writeEvidenceFiles(output: string, name: string, docs: EvidenceDocument[], perPlatform: boolean): Promise<void> {
  // Beside the output, whose folder the image writers create when it is missing: so do we.
  if (docs.length > 0) await mkdir(dirname(output), { recursive: true });
  for (const d of docs) await writeFileAtomic(evidencePath(output, name, d, perPlatform), Buffer.concat([d.bytes, Buffer.from('\n')]));
}

export type SourceKind = 'spec' | 'layout' | 'oci-archive';

/** Reads what `strata push SOURCE` names; `cleanup` removes scratch files. */
export async function readPushSource(args: ParsedArgs, out: Output, source: string): Promise<{ kind: SourceKind; image: PushableImage; cleanup: () => Promise<void>; built?: BuildResult }> {
  const s = await stat(source).catch(() => undefined);
  if (s === undefined) throw new StrataError('USAGE', `${source} does not exist`, { hint: 'push a spec (NAME.yaml), an OCI layout directory or an oci-archive' });
  const sourceTag = args.options['source-tag'] as string | undefined;
  const { readOciArchive, readOciLayout } = await import('../image/layout-read.js');
  if (s.isDirectory()) return { kind: 'layout', image: await readOciLayout(source, sourceTag), cleanup: async () => undefined };
  if (await isTarFile(source)) {
    const scratch = await mkdtemp(join(dirname(source), '.strata-push-'));
    const cleanup = () => rm(scratch, { recursive: true, force: true });
    try {
      return { kind: 'oci-archive', image: await readOciArchive(source, join(scratch, 'layout'), sourceTag), cleanup };
    } catch (e) {
      await cleanup();
      throw e;
    }
  }
  const { lock, result } = await buildFromSpec(args, out, source);
  let image = result.image;
  if (args.options['no-sbom'] !== true) {
    const { attachEvidence, buildEvidence } = await import('../build/attestations.js');
    image = attachEvidence(image, buildEvidence(lock, result, evidenceOptions(args, source)));
  }
  return { kind: 'spec', image, cleanup: async () => undefined, built: result };
}

export function pushProgress(out: Output): (p: PushProgress) => void {
  return (p) => {
    if (p.kind === 'blob') out.progress(`blobs ${p.done}/${p.total} ${p.digest.slice(7, 19)} ${p.action} (${formatBytes(p.size)})`);
    else if (p.kind === 'bytes') out.progress(`uploading ${p.digest.slice(7, 19)} ${formatBytes(p.sent)} / ${formatBytes(p.size)}`);
    else if (p.kind === 'retry') out.note(`retrying the ${p.what}: ${p.reason}`);
  };
}

export function pushSummary(r: PushResult & { reference: string }): Record<string, unknown> {
  return { reference: r.reference, digest: r.digest, tags: r.tags, blobs: r.blobs, manifests: r.manifests, referrers: r.referrers };
}

export function printPush(out: Output, r: PushResult & { reference: string }): void {
  out.line(`  pushed ${out.bold(r.reference)}`);
  out.line(`  blobs: ${r.blobs.uploaded} uploaded (${formatBytes(r.blobs.bytesUploaded)}), ${r.blobs.mounted} mounted, ${r.blobs.exists} already there`);
  if (r.referrers.length > 0) out.line(`  attached: ${r.referrers.map((x) => `${x.artifactType ?? '?'} ${x.digest.slice(0, 19)}`).join(', ')} (${r.referrers[0]!.via})`);
  if (r.tags.length > 0) out.line(`  tags: ${r.tags.join(', ')}`);
}

/** Pushes with the registry's remembered blob locations (mounts instead of uploads), then records them. */
export async function pushRemembering(args: ParsedArgs, ref: ImageReference, image: Parameters<typeof Registry.pushImage>[1], options: Parameters<typeof Registry.pushImage>[2]): Promise<Awaited<ReturnType<typeof Registry.pushImage>>> {
  const cache = await openCacheFromArgs(args);
  const known = await knownLocations(cache, ref.registry);
  const { pushImage } = await import('../image/remote/index.js');
  const pushed = await pushImage(ref, image, { ...options, knownLocations: known });
  await rememberLocations(cache, ref.registry, ref.repository, [...image.blobs.keys()]);
  return pushed;
}
