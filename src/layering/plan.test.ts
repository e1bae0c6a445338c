import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planLayers, TINY_BYTES, type PlanPackage } from './plan.js';
import { buildGraph } from './graph.js';
import { immediateDominators, ROOT } from './dominators.js';

const KB = 1024;
const world: PlanPackage[] = [
  { name: 'app', size: 500 * KB, depends: ['libapp', 'libc', 'libssl'], source: 'app', requested: true },
  { name: 'libapp', size: 300 * KB, depends: ['libc', 'tiny-a'], source: 'app', requested: false },
  { name: 'libc', size: 3000 * KB, depends: ['libgcc'], source: 'glibc', requested: false },
  { name: 'libgcc', size: 80 * KB, depends: ['libc', 'gcc-base'], source: 'gcc', requested: false },
  { name: 'gcc-base', size: 30 * KB, depends: [], source: 'gcc', requested: false },
  { name: 'libssl', size: 2000 * KB, depends: ['libc'], source: 'openssl', requested: false },
  { name: 'tiny-a', size: 10 * KB, depends: ['libc'], source: 'tiny', requested: false },
  { name: 'tiny-b', size: 8 * KB, depends: ['libc'], source: 'tiny', requested: true },
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

test('big packages get their own layers, tiny ones are packed, most popular first', () => {
  const plan = planLayers(world, 100);
  const sets = plan.layers.map((l) => l.packages.join(','));
  // gcc-base is needed by 7 packages, the libc/libgcc cycle by 5; libssl and libapp tie on
  // popularity (1: app) and libssl is lower in the graph (height 2 against 3).
  assert.deepEqual(sets, ['gcc-base,tiny-a,tiny-b', 'libc,libgcc', 'libssl', 'libapp', 'app']);
  const bin = plan.layers[0]!;
  assert.ok(bin.packages.every((p) => world.find((w) => w.name === p)!.size < TINY_BYTES));
  assert.deepEqual(plan.layers.map((l) => l.popularity), [7, 5, 1, 1, 0]);
});

test('the plan does not depend on input order', () => {
  assert.deepEqual(planLayers(shuffle(world), 100), planLayers(world, 100));
});

test('the budget is never exceeded, and merging follows dominators', () => {
  for (let budget = 3; budget <= 8; budget++) {
    const plan = planLayers(world, budget);
    assert.ok(plan.layers.length + plan.reserved <= budget, `budget ${budget}: ${plan.layers.length} layers`);
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
