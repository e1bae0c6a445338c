// An OCI layout written by hand around one layer tar, for tests that need an image strata did
// not build: a hostile layer, another architecture, the smallest image that opens.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/digest/canonical-json.js';

const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Writes `dir` as an OCI layout of one image: `tar` gzipped as its only layer, `/bin/sh` as its Cmd. */
export async function writeOneLayerLayout(dir: string, tar: Buffer, architecture = 'amd64'): Promise<void> {
  const gz = gzipSync(tar);
  const config = Buffer.from(canonicalJson({ architecture, os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${hex(tar)}`] } }));
  const manifest = Buffer.from(
    canonicalJson({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${hex(config)}`, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hex(gz)}`, size: gz.length }],
    }),
  );
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of [gz, config, manifest]) await writeFile(join(dir, 'blobs', 'sha256', hex(b)), b);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(dir, 'index.json'), canonicalJson({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${hex(manifest)}`, size: manifest.length }] }));
}
