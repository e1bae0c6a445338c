// Each effect names the packages its entries are made from: the newest of their times dates the
// effects layer (docs/reproducibility.md), so an update of any other package leaves it alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec } from '../spec/parse-spec.js';
import { alternatives } from './alternatives.js';
import { caCertificates } from './ca-certificates.js';
import { nsswitch } from './nsswitch.js';
import { osRelease } from './os-release.js';
import { timezone } from './timezone.js';
import type { EffectContext, ImagePath, PackageView } from './types.js';

function view(name: string, extracted: Record<string, string> = {}, postinst?: string): PackageView {
  return { name, version: '1', control: `Package: ${name}\n`, md5sums: '', scripts: postinst === undefined ? {} : { postinst }, extracted: new Map(Object.entries(extracted).map(([k, v]) => [k, Buffer.from(v)])) };
}

const packages = [
  view('ca-certificates', { 'usr/share/ca-certificates/mozilla/Fix_Root.crt': '-----BEGIN CERTIFICATE-----\n' }),
  view('libc-bin', { 'usr/share/libc-bin/nsswitch.conf': 'passwd: files\n' }),
  view('tzdata'),
  view('fixeditor', {}, 'update-alternatives --install /usr/bin/editor editor /usr/bin/fixeditor 50\n'),
  view('libssl3'),
];
const owned: Array<[string, string]> = [
  ['usr/share/ca-certificates/mozilla/Fix_Root.crt', 'ca-certificates'],
  ['usr/share/zoneinfo/Etc/UTC', 'tzdata'],
  ['usr/bin/fixeditor', 'fixeditor'],
  ['usr/lib/x86_64-linux-gnu/libssl.so.3', 'libssl3'],
];
const paths = new Map<string, ImagePath>(owned.map(([p, pkg]) => [p, { type: 'file', package: pkg }]));
const ctx: EffectContext = { architecture: 'amd64', spec: parseSpec('packages: [fixeditor]\n', 'spec.yaml'), packages, paths };

test('each effect names the packages it is made from, and only those', () => {
  assert.deepEqual(caCertificates(ctx).from, ['ca-certificates']);
  assert.deepEqual(nsswitch(ctx).from, ['libc-bin']);
  assert.deepEqual(timezone(ctx).from, ['tzdata']);
  const alt = alternatives(ctx);
  assert.ok(alt.entries.some((e) => e.path === 'usr/bin/editor'), 'the alternative is written');
  assert.deepEqual(alt.from, ['fixeditor']);
  assert.deepEqual(osRelease(ctx, { origin: 'Debian', codename: 'bookworm', version: '12.15' }).from, [], 'os-release comes from the suite, not a package');
});

test('an effect with nothing to read names no package', () => {
  const bare: EffectContext = { ...ctx, packages: [view('libssl3')], paths: new Map() };
  for (const r of [caCertificates(bare), nsswitch(bare), timezone(bare), alternatives(bare)]) assert.deepEqual(r.from, []);
});
