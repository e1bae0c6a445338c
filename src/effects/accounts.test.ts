// The accounts effect: accounts for the owners that packages' files name in their .debs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec } from '../spec/parse-spec.js';
import { buildAccounts } from './accounts.js';
import type { EffectContext, FileOwner, PackageView } from './types.js';

function view(name: string, fileOwners: FileOwner[], extracted = new Map<string, Buffer>()): PackageView {
  return { name, version: '1', control: `Package: ${name}\n`, md5sums: '', scripts: {}, extracted, fileOwners };
}

function ctx(yaml: string, packages: PackageView[]): EffectContext {
  return { architecture: 'amd64', spec: parseSpec(yaml, 'spec.yaml'), packages, paths: new Map() };
}

const text = (a: ReturnType<typeof buildAccounts>, path: string) => a.entries.find((e) => e.path === path)!.content!.toString('utf8');

test('a static group that a package file names is added when the image has no base-passwd', () => {
  // libpam-modules-bin ships /usr/sbin/unix_chkpwd as root:shadow (gid 42); passwd ships chage likewise.
  const a = buildAccounts(ctx('packages: [git]\n', [view('libpam-modules-bin', [{ kind: 'group', name: 'shadow', id: 42 }]), view('passwd', [{ kind: 'group', name: 'shadow', id: 42 }])]));
  assert.equal(a.gidOf('shadow'), 42);
  assert.match(text(a, 'etc/group'), /^shadow:x:42:$/m);
  assert.deepEqual(
    a.origins.filter((o) => o.source === 'package'),
    [{ name: 'shadow', kind: 'group', id: 42, source: 'package', createdBy: ['libpam-modules-bin', 'passwd'] }],
  );
});

test('a static user that a package file names is added, with its own group when there is one', () => {
  const a = buildAccounts(ctx('packages: [xx]\n', [view('x', [{ kind: 'group', name: 'mail', id: 8 }, { kind: 'user', name: 'mail', id: 8 }])]));
  assert.match(text(a, 'etc/passwd'), /^mail:x:8:8:mail:\/nonexistent:\/usr\/sbin\/nologin$/m);
  assert.match(text(a, 'etc/group'), /^mail:x:8:$/m);
});

test('owners outside the static range, or whose name or ID is taken, add nothing', () => {
  const spec = 'packages: [xx]\naccounts:\n  groups: [{name: staff, gid: 42}, {name: shadow, gid: 1042}]\n';
  const a = buildAccounts(
    ctx(spec, [
      view('x', [
        { kind: 'group', name: 'builder', id: 1000 }, // not a Debian static ID: the owner check refuses it later
        { kind: 'group', name: 'shadow', id: 42 }, // gid 42 is the spec's staff, the name the spec's shadow
        { kind: 'user', name: 'root', id: 0 },
      ]),
    ]),
  );
  assert.equal(a.gidOf('builder'), undefined);
  assert.equal(a.gidOf('shadow'), 1042);
  assert.equal(a.gidOf('staff'), 42);
  assert.deepEqual(a.origins.filter((o) => o.source === 'package'), []);
});

test('with base-passwd, its masters already hold the static IDs', () => {
  const extracted = new Map([
    ['usr/share/base-passwd/passwd.master', Buffer.from('root:*:0:0:root:/root:/bin/sh\n')],
    ['usr/share/base-passwd/group.master', Buffer.from('root:*:0:\nshadow:*:42:\n')],
  ]);
  const a = buildAccounts(ctx('packages: [xx]\n', [view('base-passwd', [], extracted), view('x', [{ kind: 'group', name: 'shadow', id: 42 }])]));
  assert.equal(a.origins.find((o) => o.name === 'shadow')!.source, 'base-passwd');
  assert.equal(text(a, 'etc/group').match(/^shadow:/gm)!.length, 1);
});
