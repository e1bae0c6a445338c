// The examples of Amazon's "Authenticating Requests: Using the Authorization Header" and
// "Query String Authentication" pages for S3 (AWS Signature Version 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presignQuery, signRequest, uriEncode } from './s3-sign.js';

const creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' };
const now = Date.UTC(2013, 4, 24, 0, 0, 0);

test('the GET Object example signs to the published signature', () => {
  const h = signRequest(creds, {
    method: 'GET',
    path: '/test.txt',
    query: {},
    headers: { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' },
    payloadSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    nowMs: now,
  });
  assert.equal(h.authorization, 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
});

test('the presigned URL example signs to the published signature', () => {
  const q = presignQuery(creds, { path: '/test.txt', host: 'examplebucket.s3.amazonaws.com', nowMs: now, expiresSeconds: 86400 });
  assert.match(q, /X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404$/);
});

test('URI encoding keeps only the unreserved set (and / in paths)', () => {
  assert.equal(uriEncode('records/images/amd64:a_p b~/x', true), 'records/images/amd64%3Aa_p%20b~/x');
  assert.equal(uriEncode('a/b', false), 'a%2Fb');
});
