import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseMediaType, parseAccept } from './negotiate.js';
import { parseRange } from './range.js';
import { isStrataError } from '../errors.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const ALL = [OCI, DOCKER, INDEX, LIST];

test('negotiation: q-values first, then the image itself, then our order; nothing matching gives the image', () => {
  assert.equal(chooseMediaType(parseAccept(undefined), ALL), OCI);
  assert.equal(chooseMediaType(parseAccept([`${DOCKER}, ${LIST}`, INDEX]), ALL), INDEX, 'several headers; OCI index before Docker forms');
  assert.equal(chooseMediaType(parseAccept(`${OCI};q=0.4, ${DOCKER};q=0.9`), ALL), DOCKER);
  assert.equal(chooseMediaType(parseAccept(`${OCI};q=0, ${DOCKER}`), ALL), DOCKER, 'q=0 refuses');
  assert.equal(chooseMediaType(parseAccept('*/*'), ALL), OCI);
  assert.equal(chooseMediaType(parseAccept('text/html'), ALL), OCI);
  assert.equal(chooseMediaType(parseAccept(`${LIST}`), ALL), LIST);
});

test('ranges: the three forms, clamping, and what is refused', () => {
  assert.equal(parseRange(undefined, 10), undefined);
  assert.deepEqual(parseRange('bytes=2-5', 10), { start: 2, end: 5 });
  assert.deepEqual(parseRange('bytes=2-', 10), { start: 2, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=-30', 10), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=8-100', 10), { start: 8, end: 9 });
  assert.equal(parseRange('items=0-1', 10), undefined);
  for (const h of ['bytes=10-', 'bytes=5-4', 'bytes=0-1,4-5', 'bytes=x', 'bytes=-0', 'bytes=-', 'nonsense']) {
    assert.throws(() => parseRange(h, 10), (e: unknown) => isStrataError(e, 'RANGE_INVALID'), h);
  }
  assert.throws(() => parseRange('bytes=-1', 0), (e: unknown) => isStrataError(e, 'RANGE_INVALID'), 'nothing to serve from an empty blob');
});
