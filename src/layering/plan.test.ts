import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planLayers, TINY_BYTES, type PlanPackage } from './plan.js';
import { buildGraph } from './graph.js';
import { immediateDominators, ROOT } from './dominators.js';

const KB = 1024;
const world: PlanPackage[] = [
  { name: 'app', size: 500 * KB, depends: ['libapp', 'libc', 'libssl', 'tiny-c', 'tiny-d'], source: 'app', requested: true },
  { name: 'libapp', size: 300 * KB, depends: ['libc', 'tiny-a'], source: 'app', requested: false },
  { name: 'libc', size: 3000 * KB, depends: ['libgcc'], source: 'glibc', requested: false },
  { name: 'libgcc', size: 80 * KB, depends: ['libc', 'gcc-base'], source: 'gcc', requested: false },
  { name: 'gcc-base', size: 30 * KB, depends: [], source: 'gcc', requested: false },
  { name: 'libssl', size: 2000 * KB, depends: ['libc'], source: 'openssl', requested: false },
  { name: 'tiny-a', size: 10 * KB, depends: ['libc'], source: 'tiny', requested: false },
  { name: 'tiny-b', size: 8 * KB, depends: ['libc'], source: 'tiny', requested: true },
  { name: 'tiny-c', size: 5 * KB, depends: [], source: 'c', requested: false },
  { name: 'tiny-d', size: 6 * KB, depends: [], source: 'd', requested: false },
];

const shuffle = <T>(xs: T[]): T[] => [...xs].reverse();

test('cycles are condensed and dominators computed from the requested packages', () => {
  const g = buildGraph(world);
  assert.deepEqual(g.get('libc')!.members, ['libc', 'libgcc']);
  const idom = immediateDominators(g);
  assert.equal(idom.get('app'), ROOT);
  assert.equal(idom.get('libapp'), 'app');
  assert.equal(idom.get('tiny-a'), 'libapp');
  assert.equal(idom.get('libc'), ROOT, 'libc is reached from app and from tiny-b');
});

test('while the budget allows, every package (a cycle as one) has its own layer, however small', () => {
  const plan = planLayers(world, 100);
  const sets = plan.layers.map((l) => l.packages.join(','));
  // gcc-base is needed by 7 packages; the libc/libgcc cycle by 5; tiny-a by 2; tiny-c, tiny-d,
  // libssl and libapp by app alone (heights 0, 0, 2, 3); tiny-b is requested and needed by nothing.
  assert.deepEqual(sets, ['gcc-base', 'libc,libgcc', 'tiny-a', 'tiny-c', 'tiny-d', 'libssl', 'libapp', 'tiny-b', 'app']);
  assert.deepEqual(plan.layers.map((l) => l.popularity), [7, 5, 2, 1, 1, 1, 1, 0, 0]);
  assert.match(plan.layers[1]!.reason, /cycle/);
});

test('over the budget, tiny packages only one package needs are merged first', () => {
  // 9 nodes, room for 8 (budget 10 less the base and effects layers): tiny-c and tiny-d, needed
  // by app alone, share a layer; nothing else moves.
  const plan = planLayers(world, 10);
  const sets = plan.layers.map((l) => l.packages.join(','));
  assert.deepEqual(sets, ['gcc-base', 'libc,libgcc', 'tiny-a', 'tiny-c,tiny-d', 'libssl', 'libapp', 'tiny-b', 'app']);
  assert.match(plan.layers[3]!.reason, /only app needs/);
  assert.ok(plan.layers.every((l) => l.packages.length === 1 || l.packages.includes('libc') || l.packages.every((p) => world.find((w) => w.name === p)!.size < TINY_BYTES)));
});

test('the plan does not depend on input order', () => {
  assert.deepEqual(planLayers(shuffle(world), 100), planLayers(world, 100));
});

test('the budget is never exceeded, and merging follows dominators', () => {
  for (let budget = 3; budget <= 10; budget++) {
    const plan = planLayers(world, budget);
    assert.ok(plan.layers.length + plan.reserved <= budget, `budget ${budget}: ${plan.layers.length} layers`);
    assert.equal(new Set(plan.layers.flatMap((l) => l.packages)).size, world.length, 'each package in exactly one layer');
    assert.deepEqual(plan.layers.flatMap((l) => l.packages).sort(), world.map((w) => w.name).sort());
  }
  const tight = planLayers(world, 5);
  assert.ok(tight.layers.some((l) => l.packages.includes('app') && l.packages.includes('libapp')), 'libapp merges into app, its dominator');
});

test('a version change of one package moves only its own layer', () => {
  const before = planLayers(world, 100);
  const after = planLayers(world.map((p) => (p.name === 'libssl' ? { ...p, size: p.size + 4096 } : p)), 100);
  assert.deepEqual(after.layers.map((l) => l.packages), before.layers.map((l) => l.packages));
});
