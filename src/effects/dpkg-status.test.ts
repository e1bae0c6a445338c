import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterMd5sums } from './dpkg-status.js';

test('md5sums lines are kept by their image path (merged /usr), listed as the package ships them', () => {
  const sums = [
    '00000000000000000000000000000001  bin/tool',
    '00000000000000000000000000000002  lib/x86_64-linux-gnu/libx.so.1',
    '00000000000000000000000000000003  usr/share/doc/x/changelog.gz',
    '00000000000000000000000000000004  usr/share/doc/x/copyright',
    '00000000000000000000000000000005  var/run/x.pid',
    '00000000000000000000000000000006  ../escape',
    '',
  ].join('\n');
  const image = new Set(['usr/bin/tool', 'usr/lib/x86_64-linux-gnu/libx.so.1', 'usr/share/doc/x/copyright', 'run/x.pid']);
  assert.equal(
    filterMd5sums(sums, (p) => image.has(p)),
    [
      '00000000000000000000000000000001  bin/tool',
      '00000000000000000000000000000002  lib/x86_64-linux-gnu/libx.so.1',
      '00000000000000000000000000000004  usr/share/doc/x/copyright',
      '00000000000000000000000000000005  var/run/x.pid',
      '',
    ].join('\n'),
  );
});
