// Enforces the import directions and I/O boundaries written in ARCHITECTURE.md: which part
// of src/ may import which, which files may touch the file system, the network or child
// processes, and that library code never prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './helpers/cli.js';

const SRC = join(REPO_ROOT, 'src');

/** Part of src → the parts it may import (besides itself). Top-level files are parts too. */
const ALLOWED: Record<string, string[]> = {
  'errors.ts': [],
  'version.ts': [],
  'index.ts': ['*'],
  util: ['errors.ts'],
  digest: ['errors.ts'],
  archive: ['errors.ts', 'digest', 'util'],
  cache: ['errors.ts', 'digest'],
  debian: ['errors.ts', 'digest', 'archive', 'cache', 'util'],
  spec: ['errors.ts', 'digest', 'debian', 'util'],
  layering: ['errors.ts', 'util'],
  image: ['errors.ts', 'digest', 'archive', 'util'],
  effects: ['errors.ts', 'digest', 'archive', 'debian', 'spec', 'util'],
  sbom: ['errors.ts', 'digest', 'debian', 'image'],
  build: ['errors.ts', 'version.ts', 'digest', 'archive', 'cache', 'debian', 'spec', 'layering', 'image', 'effects', 'sbom', 'util'],
  store: ['errors.ts', 'digest', 'util'],
  server: ['errors.ts', 'version.ts', 'digest', 'image', 'store', 'build', 'spec', 'debian', 'cache', 'util', 'layering'],
  verify: ['errors.ts', 'version.ts', 'digest', 'archive', 'image', 'build', 'spec', 'debian', 'cache', 'util'],
  env: ['errors.ts', 'version.ts', 'digest', 'archive', 'image', 'build', 'spec', 'debian', 'cache', 'util'],
  cli: ['*'],
};

/** Files that may touch node:fs, node:http(s), node:net, node:child_process or fetch. */
const IO_ALLOWED = [
  /^cli\//,
  /^cache\//,
  /^store\//,
  /^server\//,
  /^verify\//,
  /^env\//,
  /^build\//,
  /^image\/(layout|archive-file|remote|validate)[^/]*\.ts$/,
  /^image\/remote\//,
  /^archive\/decompress\.ts$/,
  /^archive\/compress[^/]*\.ts$/,
  /^debian\/(download|apt-sources|archive)\.ts$/,
  /^spec\/load-spec\.ts$/,
  /^version\.ts$/,
];

const IO_MODULES = /^node:(fs|fs\/promises|http|https|http2|net|child_process|dgram)$/;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function partOf(rel: string): string {
  return rel.includes('/') ? rel.split('/')[0]! : rel;
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(m[1] ?? m[2]!);
  return out;
}

test('parts of src import only what ARCHITECTURE.md allows', () => {
  const violations: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file);
    const part = partOf(rel);
    const allowed = ALLOWED[part];
    if (allowed === undefined) {
      violations.push(`${rel}: part ${part} is not listed in ARCHITECTURE.md's import table`);
      continue;
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, join(file, '..', spec)).replace(/\.js$/, '.ts');
      const targetPart = partOf(target);
      if (targetPart === part || allowed.includes('*') || allowed.includes(targetPart)) continue;
      violations.push(`${rel} imports ${target} (${part} → ${targetPart} is not allowed)`);
    }
  }
  assert.deepEqual(violations, []);
});

test('only I/O adapters touch the file system, the network or processes; library code never prints', () => {
  const violations: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file);
    const text = readFileSync(file, 'utf8');
    const io = IO_ALLOWED.some((re) => re.test(rel));
    for (const spec of importsOf(text)) {
      if (IO_MODULES.test(spec) && !io) violations.push(`${rel} imports ${spec}`);
    }
    if (!io && /\bfetch\(/.test(text)) violations.push(`${rel} calls fetch`);
    if (!rel.startsWith('cli/') && /\bconsole\.|process\.(stdout|stderr)\.write/.test(text)) violations.push(`${rel} prints`);
  }
  assert.deepEqual(violations, []);
});
