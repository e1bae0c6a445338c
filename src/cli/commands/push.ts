// Owns `strata push SOURCE REF`: sends an image to a registry — built from a spec (with its
// SBOMs and provenance attached), or read from an OCI layout directory or an oci-archive
// (with the artifacts `strata build --sbom` put in it) — and tags it last.
import { StrataError } from '../../errors.js';
import { parseReference, pushImage } from '../../image/remote/index.js';
import { CACHE_OPTION, JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { BUILDER_ID_OPTION, printPush, pushProgress, pushSummary, readPushSource, pushRemembering } from '../image-source.js';
import { REMOTE_OPTIONS, remoteOptionsFromArgs } from '../remote-options.js';

export const pushCommand: Command = {
  name: 'push',
  summary: 'Push an image (a spec, an OCI layout or an oci-archive) to a registry, with its SBOMs and provenance.',
  description: [
    'Blobs the registry has are skipped; --mount-from mounts them from another repository of the same registry;',
    'large blobs go up in chunks and resume after a dropped connection. Manifests go by digest, the artifacts',
    '(SPDX, CycloneDX, in-toto provenance; subject = the image) after them, and tags last, so a tag never',
    'points at something incomplete. Credentials: --username with --password-stdin, else those of',
    '`docker login`/`podman login` ($REGISTRY_AUTH_FILE, containers auth.json, ~/.docker/config.json,',
    'credential helpers). Retries 5xx answers and dropped connections with backoff (STRATA_HTTP_RETRIES).',
  ].join('\n'),
  positionals: [
    { name: 'SOURCE', required: true, description: 'a spec (built from its lockfile), an OCI layout directory, or an oci-archive' },
    { name: 'REF', required: true, description: 'where to: REGISTRY/REPOSITORY[:TAG], e.g. ghcr.io/org/app:1.0 or 127.0.0.1:5000/app' },
  ],
  options: [
    { name: 'tag', short: 't', type: 'string', multiple: true, value: 'TAG', description: 'also set this tag (repeatable)' },
    { name: 'source-tag', type: 'string', value: 'TAG', description: 'the image of a layout or archive to push (default: its only tag, or latest)' },
    { name: 'mount-from', type: 'string', multiple: true, value: 'REPO', description: 'mount blobs from this repository of the same registry instead of uploading them (repeatable)' },
    { name: 'no-sbom', type: 'boolean', description: 'when SOURCE is a spec: do not attach the SBOMs and provenance' },
    BUILDER_ID_OPTION,
    ...REMOTE_OPTIONS,
    { name: 'arch', type: 'string', multiple: true, value: 'ARCH', description: 'when SOURCE is a spec: only these architectures of the lock' },
    { name: 'workers', type: 'string', value: 'N', description: 'when SOURCE is a spec: compression threads' },
    LOCKFILE_OPTION,
    CACHE_OPTION,
    JSON_OPTION,
  ],
  examples: [
    'strata push examples/redis.yaml ghcr.io/org/redis:7.0',
    'strata push redis.oci 127.0.0.1:5000/redis:latest --insecure',
    'echo "$TOKEN" | strata push redis.oci registry.example.org/team/redis:7 --username ci --password-stdin',
  ],
  async run(args, out) {
    const [source, refText] = args.positionals as [string, string];
    const ref = parseReference(refText, null);
    const tags = (args.options.tag as string[] | undefined) ?? [];
    for (const t of tags) if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(t)) throw new StrataError('USAGE', `push: --tag ${JSON.stringify(t)} is not a valid tag`);
    if (ref.tag === undefined && ref.digest === undefined && tags.length === 0) ref.tag = 'latest';
    const remote = await remoteOptionsFromArgs(args);
    const { kind, image, cleanup } = await readPushSource(args, out, source);
    try {
      const mountFrom = args.options['mount-from'] as string[] | undefined;
      const pushed = await pushRemembering(args, ref, image, { ...remote, tags, ...(mountFrom ? { mountFrom } : {}), onProgress: pushProgress(out) });
      out.progressDone();
      if (out.json) {
        out.data({ source, kind, ...pushSummary(pushed) });
        return 0;
      }
      out.line(out.bold(pushed.digest));
      printPush(out, pushed);
      return 0;
    } finally {
      await cleanup();
    }
  },
};
