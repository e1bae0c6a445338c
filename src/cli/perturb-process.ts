// Owns the perturbations `strata verify` applies inside a rebuild's own process when no
// outside tool can (docs/verify.md). Loaded by main.ts before any command, and only when
// one of these variables is set:
//   STRATA_CLOCK_OFFSET=SECONDS   the clock runs this far ahead (Date, Date.now), for hosts
//                                 without faketime
//   STRATA_SHUFFLE_DIRENTS=SEED   every directory listing (readdir, readdirSync, opendir,
//                                 opendirSync, and their fs/promises forms) comes back in a
//                                 shuffled order, seeded
// A build that reads the clock or depends on listing order then makes different bytes, which
// is what verify looks for. Neither is meant for anything else.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

/** mulberry32: a small seeded generator, so a shuffled run can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function overrideClock(offsetSeconds: number): void {
  const offset = offsetSeconds * 1000;
  const RealDate = Date;
  const realNow = Date.now.bind(Date);
  // A constructor function rather than a class: `Date()` without `new` must still work.
  function ShiftedDate(this: unknown, ...args: unknown[]): Date | string {
    if (new.target === undefined) return new RealDate(realNow() + offset).toString();
    return args.length === 0 ? new RealDate(realNow() + offset) : new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
  }
  ShiftedDate.prototype = RealDate.prototype;
  Object.assign(ShiftedDate, { now: () => realNow() + offset, parse: RealDate.parse, UTC: RealDate.UTC });
  globalThis.Date = ShiftedDate as unknown as DateConstructor;
}

function shuffleListings(seed: number): void {
  const next = generator(seed);
  const mix = <T>(list: T[]): T[] => shuffle([...list], next);
  const readdirSync = fs.readdirSync;
  (fs as { readdirSync: unknown }).readdirSync = (...args: Parameters<typeof fs.readdirSync>) => mix(readdirSync(...args) as unknown[]);
  const readdir = fs.readdir;
  (fs as { readdir: unknown }).readdir = (...args: unknown[]) => {
    const cb = args.pop() as (e: Error | null, list?: unknown[]) => void;
    (readdir as (...a: unknown[]) => void)(...args, (e: Error | null, list?: unknown[]) => cb(e, list === undefined ? list : mix(list)));
  };
  const readdirP = fsp.readdir;
  (fsp as { readdir: unknown }).readdir = async (...args: Parameters<typeof fsp.readdir>) => mix((await readdirP(...args)) as unknown[]);
  // opendir returns entries in the file system's order (readdir does not: libuv sorts it);
  // a shuffled Dir reads the whole listing at open and hands it out in another order.
  const shuffledDir = (dir: fs.Dir): fs.Dir => {
    const entries: fs.Dirent[] = [];
    for (let e = dir.readSync(); e !== null; e = dir.readSync()) entries.push(e);
    dir.closeSync();
    const queue = mix(entries);
    const read = () => queue.shift() ?? null;
    const fake = {
      path: dir.path,
      readSync: read,
      read: (cb?: (e: Error | null, d: fs.Dirent | null) => void) => (cb ? void process.nextTick(() => cb(null, read())) : Promise.resolve(read())),
      closeSync: () => undefined,
      close: (cb?: (e: Error | null) => void) => (cb ? void process.nextTick(() => cb(null)) : Promise.resolve()),
      async *[Symbol.asyncIterator]() {
        for (let e = read(); e !== null; e = read()) yield e;
      },
      *[Symbol.iterator]() {
        for (let e = read(); e !== null; e = read()) yield e;
      },
    };
    return fake as unknown as fs.Dir;
  };
  const opendirSync = fs.opendirSync;
  (fs as { opendirSync: unknown }).opendirSync = (...args: Parameters<typeof fs.opendirSync>) => shuffledDir(opendirSync(...args));
  const opendirP = fsp.opendir;
  (fsp as { opendir: unknown }).opendir = async (...args: Parameters<typeof fsp.opendir>) => shuffledDir(await opendirP(...args));
  const opendirCb = fs.opendir;
  (fs as { opendir: unknown }).opendir = (...args: unknown[]) => {
    const cb = args.pop() as (e: Error | null, d?: fs.Dir) => void;
    (opendirCb as (...a: unknown[]) => void)(...args, (e: Error | null, d?: fs.Dir) => cb(e, d === undefined ? d : shuffledDir(d)));
  };
  syncBuiltinESMExports();
}

export function applyProcessPerturbations(env: NodeJS.ProcessEnv): void {
  const offset = env.STRATA_CLOCK_OFFSET;
  if (offset !== undefined && /^[0-9]+$/.test(offset) && offset !== '0') overrideClock(Number(offset));
  const seed = env.STRATA_SHUFFLE_DIRENTS;
  if (seed !== undefined && /^[0-9]+$/.test(seed)) shuffleListings(Number(seed));
}
