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

test('without base-passwd, Debian\'s static IDs are built in (unix_chkpwd is root:shadow)', () => {
  const a = buildAccounts(ctx('packages: [git]\n', [view('libpam-modules-bin', [{ kind: 'group', name: 'shadow', id: 42 }])]));
  assert.equal(a.gidOf('shadow'), 42);
  assert.match(text(a, 'etc/group'), /^shadow:x:42:$/m);
  assert.match(text(a, 'etc/passwd'), /^mail:x:8:8:mail:\/var\/mail:\/usr\/sbin\/nologin$/m);
  assert.equal(a.origins.find((o) => o.name === 'shadow')!.source, 'default');
  assert.deepEqual(a.origins.filter((o) => o.source === 'package'), []);
});

test('a static-range owner that Debian\'s tables do not name is added from the .deb', () => {
  const a = buildAccounts(ctx('packages: [xx]\n', [view('x', [{ kind: 'group', name: 'fixstatic', id: 77 }, { kind: 'user', name: 'fixstatic', id: 77 }])]));
  assert.match(text(a, 'etc/passwd'), /^fixstatic:x:77:77:fixstatic:\/nonexistent:\/usr\/sbin\/nologin$/m);
  assert.match(text(a, 'etc/group'), /^fixstatic:x:77:$/m);
  assert.deepEqual(a.origins.filter((o) => o.source === 'package').map((o) => [o.kind, o.name, o.id]), [['group', 'fixstatic', 77], ['user', 'fixstatic', 77]]);
});

test('owners outside the static range, or whose name or ID is taken, add nothing', () => {
  const spec = 'packages: [xx]\naccounts:\n  groups: [{name: builders, gid: 1042}]\n';
  const a = buildAccounts(
    ctx(spec, [
      view('x', [
        { kind: 'group', name: 'builder', id: 1000 }, // not a Debian static ID: the owner check refuses it later
        { kind: 'group', name: 'othershadow', id: 42 }, // gid 42 is already shadow
        { kind: 'user', name: 'root', id: 0 },
      ]),
    ]),
  );
  assert.equal(a.gidOf('builder'), undefined);
  assert.equal(a.gidOf('othershadow'), undefined);
  assert.equal(a.gidOf('builders'), 1042);
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

test('the accounts are made from base-passwd and the packages whose accounts they add, not from the others', () => {
  const master = new Map([['usr/share/base-passwd/passwd.master', Buffer.from('root:*:0:0:root:/root:/bin/sh\n')], ['usr/share/base-passwd/group.master', Buffer.from('root:*:0:\n')]]);
  const daemon = { ...view('fixd', []), scripts: { postinst: 'adduser --system --group fixd\n' } };
  const a = buildAccounts(ctx('packages: [fixd]\n', [view('base-passwd', [], master), daemon, view('libfix', []), view('shadowed', [{ kind: 'group', name: 'root', id: 0 }])]));
  assert.ok(a.uidOf('fixd') !== undefined, 'fixd is added from its postinst');
  assert.deepEqual(a.from, ['base-passwd', 'fixd']);
});
