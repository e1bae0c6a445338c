// Oracle test: compareVersions must agree with `dpkg --compare-versions` on thousands of
// version pairs taken from a real bookworm Packages index. The index comes from the host's
// apt lists when apt has them, otherwise it is downloaded from the mirror configured in the
// host's apt sources (never a hard-coded host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { compareVersions, tryParseVersion } from './version.js';
import { readHostAptSources } from './apt-sources.js';

const SUITE = 'bookworm';
const MIN_PAIRS = 5000;

/** The text of the host's bookworm Packages lists, decompressed by apt itself. */
function packagesFromAptLists(): string | undefined {
  const r = spawnSync('apt-get', ['indextargets', '--format', '$(FILENAME)', 'Identifier: Packages', `Codename: ${SUITE}`], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return undefined;
  const files = r.stdout.split('\n').filter((f) => f !== '' && existsSync(f));
  const texts: string[] = [];
  for (const file of files) {
    const cat = spawnSync('/usr/lib/apt/apt-helper', ['cat-file', file], { encoding: 'latin1', maxBuffer: 1 << 30 });
    if (cat.status === 0 && cat.stdout.includes('\nVersion: ')) texts.push(cat.stdout);
  }
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** Downloads main/binary-amd64/Packages.xz from the host's configured bookworm mirror. */
async function packagesFromMirror(): Promise<string> {
  const sources = await readHostAptSources('/etc/apt');
  const source = sources.find((s) => s.suite === SUITE && /^https?:/.test(s.uri));
  if (source === undefined) throw new Error(`no apt list for ${SUITE} on this host and no http(s) ${SUITE} source in /etc/apt to download one from`);
  const url = `${source.uri.replace(/\/+$/, '')}/dists/${SUITE}/main/binary-amd64/Packages.xz`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const xz = Buffer.from(await response.arrayBuffer());
  const out = spawnSync('xz', ['-dc'], { input: xz, encoding: 'latin1', maxBuffer: 1 << 30 });
  if (out.error !== undefined || out.status !== 0) throw new Error(`xz -dc failed on ${url}: ${out.error?.message ?? out.stderr}`);
  return out.stdout;
}

/** xorshift32: a small seeded PRNG so the chosen pairs are the same on every run. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

function buildPairs(versions: string[]): Array<[string, string]> {
  const seen = new Set<string>();
  const pairs: Array<[string, string]> = [];
  const add = (a: string, b: string): void => {
    const key = `${a} ${b}`;
    if (a === b || seen.has(key)) return;
    seen.add(key);
    pairs.push([a, b]);
  };
  const rand = prng(0x5eed1234);
  const pick = <T>(list: T[]): T => list[rand(list.length)]!;
  const randomPairs = (list: string[], count: number): void => {
    if (list.length < 2) return;
    for (let i = 0; i < count; i++) add(pick(list), pick(list));
  };

  // Random pairs over every distinct version (in code-unit order, independent of the code under test).
  randomPairs(versions, 1500);
  // Neighbours in the order compareVersions gives: the closest, hardest pairs.
  const sorted = [...versions].sort(compareVersions);
  const step = Math.max(1, Math.floor(sorted.length / 1500));
  for (let i = 0; i + 1 < sorted.length; i += step) add(sorted[i]!, sorted[i + 1]!);
  // Tildes, epochs and revisions, within their subsets and against their stripped forms.
  const tilde = versions.filter((v) => v.includes('~'));
  const epoch = versions.filter((v) => v.includes(':'));
  const revision = versions.filter((v) => v.includes('-'));
  randomPairs(tilde, 400);
  randomPairs(epoch, 300);
  randomPairs(revision, 300);
  for (let i = 0; i < 300 && tilde.length > 0; i++) {
    const v = pick(tilde);
    add(v, v.replace(/~[^-]*/, ''));
  }
  for (let i = 0; i < 200 && epoch.length > 0; i++) {
    const v = pick(epoch);
    add(v, v.slice(v.indexOf(':') + 1));
    add(pick(versions), v);
  }
  // Same upstream, different revisions.
  const byUpstream = new Map<string, string[]>();
  for (const v of revision) {
    const up = v.slice(0, v.lastIndexOf('-'));
    byUpstream.set(up, [...(byUpstream.get(up) ?? []), v]);
  }
  const groups = [...byUpstream.values()].filter((g) => g.length > 1);
  for (let i = 0; i < 300 && groups.length > 0; i++) randomPairs(pick(groups), 1);
  // Real versions against small edits of themselves.
  for (let i = 0; i < 250; i++) {
    const v = pick(versions);
    for (const suffix of ['~', '~~', '~a', '+b1', '.0', 'a', '0']) add(v, `${v}${suffix}`);
  }
  // Flip half the pairs so neither side is always the smaller one.
  return pairs.map(([a, b]): [string, string] => (rand(2) === 0 ? [a, b] : [b, a]));
}

const DPKG_LOOP = `
while read -r a b; do
  dpkg --compare-versions "$a" lt "$b"; r=$?
  if [ "$r" = 0 ]; then echo "<"; continue; fi
  if [ "$r" != 1 ]; then echo "error $r"; continue; fi
  dpkg --compare-versions "$a" eq "$b"; r=$?
  if [ "$r" = 0 ]; then echo "="; elif [ "$r" = 1 ]; then echo ">"; else echo "error $r"; fi
done
`;

function runDpkgBatch(pairs: Array<[string, string]>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', DPKG_LOOP], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.split('\n').filter((l) => l !== '');
      if (code !== 0 || lines.length !== pairs.length || err !== '') {
        reject(new Error(`dpkg batch: exit ${code}, ${lines.length} answers for ${pairs.length} pairs, stderr: ${err.slice(0, 500)}`));
      } else {
        resolve(lines);
      }
    });
    child.stdin.end(pairs.map(([a, b]) => `${a} ${b}\n`).join(''));
  });
}

async function dpkgCompareAll(pairs: Array<[string, string]>): Promise<string[]> {
  const workers = Math.max(2, Math.min(8, availableParallelism()));
  const size = Math.ceil(pairs.length / workers);
  const batches: Array<Array<[string, string]>> = [];
  for (let i = 0; i < pairs.length; i += size) batches.push(pairs.slice(i, i + size));
  return (await Promise.all(batches.map(runDpkgBatch))).flat();
}

const sym = (c: number): string => (c < 0 ? '<' : c > 0 ? '>' : '=');

test(`compareVersions agrees with dpkg --compare-versions on ${MIN_PAIRS}+ pairs from ${SUITE}`, { timeout: 180_000 }, async (t) => {
  const dpkg = spawnSync('dpkg', ['--version'], { encoding: 'utf8' });
  if (dpkg.error !== undefined || dpkg.status !== 0) {
    assert.fail(`dpkg is not runnable (${dpkg.error?.message ?? `exit ${dpkg.status}`}): this oracle test needs dpkg --compare-versions, which every Debian system has`);
  }

  const text = packagesFromAptLists() ?? (await packagesFromMirror());
  const versions = [...new Set(Array.from(text.matchAll(/^Version: *(\S+) *$/gm), (m) => m[1]!))].sort();
  assert.ok(versions.length > 10_000, `expected a full ${SUITE} index, found only ${versions.length} distinct versions`);
  const unparsable = versions.filter((v) => tryParseVersion(v) === undefined);
  assert.deepEqual(unparsable, [], 'every version of the real index parses');

  const pairs = buildPairs(versions);
  assert.ok(pairs.length >= MIN_PAIRS, `built only ${pairs.length} pairs`);
  assert.ok(pairs.some(([a, b]) => a.includes('~') && b.includes('~')), 'pairs include tilde versions');
  assert.ok(pairs.some(([a, b]) => a.includes(':') !== b.includes(':')), 'pairs include epoch against no epoch');

  const started = Date.now();
  const answers = await dpkgCompareAll(pairs);
  const disagreements: string[] = [];
  pairs.forEach(([a, b], i) => {
    const ours = sym(compareVersions(a, b));
    if (answers[i] !== ours) disagreements.push(`  ${a} ? ${b}: dpkg says ${answers[i]}, compareVersions says ${ours}`);
  });
  t.diagnostic(`${versions.length} distinct versions, ${pairs.length} pairs, dpkg took ${Date.now() - started} ms`);
  assert.equal(
    disagreements.length,
    0,
    `${disagreements.length} of ${pairs.length} pairs disagree with dpkg; the first ones:\n${disagreements.slice(0, 20).join('\n')}`,
  );
  assert.ok(answers.includes('=') && answers.includes('<') && answers.includes('>'), 'the pairs exercise all three outcomes');

  // A total order consistent with sorting: antisymmetric on every pair ...
  for (const [a, b] of pairs) {
    assert.equal(Math.sign(compareVersions(a, b)) + Math.sign(compareVersions(b, a)), 0, `antisymmetry of ${a} and ${b}`);
  }
  // ... and transitive: a sample sorted with compareVersions is ordered pairwise, not just
  // between neighbours, and random triples never break a <= b <= c ⇒ a <= c.
  const rand = prng(42);
  const sample = Array.from({ length: 400 }, () => versions[rand(versions.length)]!).sort(compareVersions);
  for (let i = 0; i < sample.length; i++) {
    for (let j = i + 1; j < sample.length; j++) {
      assert.ok(compareVersions(sample[i]!, sample[j]!) <= 0, `sorted sample out of order: ${sample[i]} before ${sample[j]}`);
    }
  }
  for (let i = 0; i < 20_000; i++) {
    const [a, b, c] = [sample[rand(sample.length)]!, sample[rand(sample.length)]!, sample[rand(sample.length)]!];
    if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) assert.ok(compareVersions(a, c) <= 0, `transitivity: ${a} <= ${b} <= ${c}`);
  }
});
