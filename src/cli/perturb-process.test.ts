import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODULE = new URL('./perturb-process.js', import.meta.url).href;

/** Runs a snippet in a fresh process with the perturbations applied first; returns its JSON. */
function probe(env: NodeJS.ProcessEnv, body: string): unknown {
  const script = `const { applyProcessPerturbations } = await import(${JSON.stringify(MODULE)}); applyProcessPerturbations(process.env); ${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('STRATA_CLOCK_OFFSET moves Date and Date.now ahead, and leaves explicit dates alone', () => {
  const before = Date.now();
  const out = probe({ STRATA_CLOCK_OFFSET: String(10 * 365 * 86400) }, 'console.log(JSON.stringify([Date.now(), new Date().getTime(), new Date(0).getTime(), typeof Date(), new Date() instanceof Date]))') as [number, number, number, string, boolean];
  const ahead = 10 * 365 * 86400 * 1000;
  assert.ok(out[0] >= before + ahead && out[0] < Date.now() + ahead, 'Date.now');
  assert.ok(out[1] >= before + ahead, 'new Date()');
  assert.deepEqual(out.slice(2), [0, 'string', true]);
});

test('STRATA_SHUFFLE_DIRENTS shuffles readdir and opendir listings, seeded, losing nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-shuffle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const names = Array.from({ length: 30 }, (_, i) => `n${String(i).padStart(2, '0')}`);
  for (const n of names) writeFileSync(join(dir, n), '');
  const body = `import('node:fs').then(async (fs) => { const fsp = await import('node:fs/promises'); const d = fs.opendirSync(${JSON.stringify(dir)}); const o = []; for (let e = d.readSync(); e !== null; e = d.readSync()) o.push(e.name); console.log(JSON.stringify([fs.readdirSync(${JSON.stringify(dir)}), await fsp.readdir(${JSON.stringify(dir)}), o])); })`;
  const plain = probe({}, body) as string[][];
  assert.deepEqual(plain[0], names, 'node sorts readdir');
  const a = probe({ STRATA_SHUFFLE_DIRENTS: '7' }, body) as string[][];
  const b = probe({ STRATA_SHUFFLE_DIRENTS: '7' }, body) as string[][];
  assert.deepEqual(a, b, 'the same seed, the same order');
  for (const list of a) {
    assert.deepEqual([...list].sort(), names);
    assert.notDeepEqual(list, names);
  }
});
