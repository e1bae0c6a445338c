import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore } from './semaphore.js';
import { SingleFlight } from './single-flight.js';

test('semaphore: at most limit holders, a bounded queue served in order, release is idempotent', async () => {
  const s = new Semaphore(2, 1);
  const a = (await s.acquire())!;
  const b = (await s.acquire())!;
  const order: string[] = [];
  const c = s.acquire().then((r) => (order.push('c'), r));
  assert.equal(await s.acquire(), undefined, 'the queue holds one waiter');
  assert.equal(s.running, 2);
  assert.equal(s.waiting, 1);
  a();
  a();
  const rc = (await c)!;
  assert.deepEqual(order, ['c']);
  assert.equal(s.running, 2, 'the slot passed to the waiter');
  b();
  rc();
  assert.equal(s.running, 0);
});

test('single flight: concurrent calls share one run; the key is free after it settles', async () => {
  const f = new SingleFlight<number>();
  let runs = 0;
  const work = async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 10));
    if (runs === 2) throw new Error('second run fails');
    return runs;
  };
  const calls = Array.from({ length: 10 }, () => f.run('k', work));
  assert.equal(calls.filter((c) => c.joined).length, 9);
  assert.deepEqual(await Promise.all(calls.map((c) => c.promise)), Array(10).fill(1));
  assert.equal(f.size, 0);
  await assert.rejects(f.run('k', work).promise, /second run fails/);
  assert.equal(await f.run('k', work).promise, 3, 'a failure is not remembered');
});
