// A deliberately careless image builder for the verify tests, used as `strata verify`'s
// rebuild CLI (STRATA_VERIFY_CLI): it runs the real `strata build` with the same arguments,
// then rewrites the layer of the package $SLOPPY_PACKAGE (default fixapp) the way real tools
// go wrong, depending on the process's conditions as theirs do:
//   SLOPPY=clock     every entry's mtime is the start of the current UTC day (a build that
//                    stamps "today": stable within a day, different under a clock years ahead)
//   SLOPPY=listing   the entries come in the order a directory listing returns them
// It honours strata's in-process perturbations (clock override, listing shuffle) like the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, opendirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyProcessPerturbations } from '../../src/cli/perturb-process.js';
import { CLI } from './cli.js';
import { doctorLayout, layerOf, readLayout, type TarItem } from './doctor-image.js';

applyProcessPerturbations(process.env);
const args = process.argv.slice(2);
const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 28 });
process.stderr.write(r.stderr);
if (r.status !== 0) {
  process.stdout.write(r.stdout);
  process.exit(r.status ?? 1);
}
const out = args[args.indexOf('-o') + 1]!;
const report = JSON.parse(r.stdout) as { digest: string; platforms: unknown[] };
const mode = process.env.SLOPPY;
const pkg = process.env.SLOPPY_PACKAGE ?? 'fixapp';
const { manifest } = await readLayout(out);
const index = layerOf(manifest, pkg);

function listingOrder(items: TarItem[]): TarItem[] {
  const dir = mkdtempSync(join(tmpdir(), 'sloppy-'));
  try {
    items.forEach((_, i) => writeFileSync(join(dir, `e${i}`), ''));
    // readdir(3) order, as tar -c sees it (node's readdir sorts; opendir does not).
    const names: string[] = [];
    const d = opendirSync(dir);
    for (let e = d.readSync(); e !== null; e = d.readSync()) names.push(e.name);
    d.closeSync();
    return names.map((name) => items[Number(name.slice(1))]!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (mode === 'clock') {
  const today = Math.floor(Date.now() / 86_400_000) * 86_400;
  report.digest = await doctorLayout(out, { layer: { index, transform: (items) => items.map((it) => ({ ...it, entry: { ...it.entry, mtime: today } })) } });
} else if (mode === 'listing') {
  report.digest = await doctorLayout(out, { layer: { index, transform: listingOrder } });
} else if (mode !== undefined && mode !== '') {
  throw new Error(`SLOPPY=${mode}: expected clock or listing`);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
