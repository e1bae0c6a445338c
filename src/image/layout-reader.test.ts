import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { selectRoot } from './layout-reader.js';
import { ANNOTATION, MEDIA, type Descriptor, type ImageIndex } from './oci.js';

const image = (n: number, tag?: string): Descriptor => ({
  mediaType: MEDIA.manifest,
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: 100 + n,
  ...(tag === undefined ? {} : { annotations: { [ANNOTATION.refName]: tag } }),
});
const artifact = (n: number, artifactType: string): Descriptor => ({ ...image(n), artifactType });
const index = (...manifests: Descriptor[]): ImageIndex => ({ schemaVersion: 2, mediaType: MEDIA.index, manifests }) as ImageIndex;

test('selectRoot: the SBOM and provenance artifacts beside an image do not make the choice ambiguous', () => {
  // What `strata build --sbom` writes: the tagged image and three untagged artifacts.
  const built = index(image(1, 'latest'), artifact(2, 'application/spdx+json'), artifact(3, 'application/vnd.cyclonedx+json'), artifact(4, 'application/vnd.in-toto+json'));
  assert.equal(selectRoot('L', built, undefined).digest, image(1).digest);
  assert.equal(selectRoot('L', built, 'latest').digest, image(1).digest);
  // An untagged image with artifacts is still the only image.
  assert.equal(selectRoot('L', index(artifact(2, 'application/spdx+json'), image(1)), undefined).digest, image(1).digest);
});

test('selectRoot: several images need a tag; no image at all is an invalid layout', () => {
  assert.throws(() => selectRoot('L', index(image(1, 'a'), image(2, 'b'), artifact(3, 'x')), undefined), (e) => isStrataError(e, 'USAGE') && /holds 2 images/.test(e.message) && /a, b/.test(e.hint ?? ''));
  assert.equal(selectRoot('L', index(image(1, 'a'), image(2, 'b')), 'b').digest, image(2).digest);
  assert.throws(() => selectRoot('L', index(image(1, 'a')), 'c'), (e) => isStrataError(e, 'IMAGE_NOT_FOUND'));
  assert.throws(() => selectRoot('L', index(artifact(3, 'x')), undefined), (e) => isStrataError(e, 'IMAGE_INVALID') && /only 1 artifacts/.test(e.message));
  assert.throws(() => selectRoot('L', index(), undefined), (e) => isStrataError(e, 'IMAGE_INVALID'));
});
