// Owns the alternatives system, from the `update-alternatives --install LINK NAME PATH PRIO
// [--slave LINK NAME PATH]…` lines of the packages' postinst scripts, read statically. For
// each NAME the highest priority whose PATH is in the image wins (ties: the smaller PATH in
// byte order); it gets LINK → /etc/alternatives/NAME → PATH, and its slaves likewise.
import { comparePathBytes, mergeUsr, normalisePath } from '../debian/merged-usr.js';
import { parseScript } from './script-actions.js';
import { symlink, type EffectContext, type EffectResult, type GeneratedEntry } from './types.js';

interface Candidate {
  link: string;
  name: string;
  path: string;
  priority: number;
  slaves: Array<{ link: string; name: string; path: string }>;
  package: string;
}

function imagePath(p: string): string | undefined {
  const n = normalisePath(p);
  return n === 'escapes' || n === 'nul' || n === '' ? undefined : mergeUsr(n);
}

export function alternatives(ctx: EffectContext): EffectResult {
  const byName = new Map<string, Candidate[]>();
  for (const p of ctx.packages) {
    const script = p.scripts.postinst;
    if (script === undefined) continue;
    for (const a of parseScript(script)) {
      if (a.kind !== 'alternative') continue;
      const list = byName.get(a.name) ?? [];
      list.push({ link: a.link, name: a.name, path: a.path, priority: a.priority, slaves: a.slaves, package: p.name });
      byName.set(a.name, list);
    }
  }
  const entries: GeneratedEntry[] = [];
  const warnings: string[] = [];
  const written = new Set<string>();
  const from = new Set<string>();
  const add = (link: string, name: string, target: string, pkg: string) => {
    const linkPath = imagePath(link);
    const targetPath = imagePath(target);
    if (linkPath === undefined || targetPath === undefined || !ctx.paths.has(targetPath)) return;
    const existing = ctx.paths.get(linkPath);
    if (existing !== undefined && existing.type !== 'symlink') {
      warnings.push(`alternative ${name}: ${link} is a ${existing.type} of ${existing.package}; not replaced by a link`);
      return;
    }
    if (written.has(linkPath)) return;
    written.add(linkPath);
    entries.push(symlink(`etc/alternatives/${name}`, target), symlink(linkPath, `/etc/alternatives/${name}`));
    from.add(pkg);
  };
  for (const name of [...byName.keys()].sort()) {
    const present = byName.get(name)!.filter((c) => {
      const t = imagePath(c.path);
      return t !== undefined && ctx.paths.has(t);
    });
    if (present.length === 0) continue;
    present.sort((a, b) => b.priority - a.priority || comparePathBytes(a.path, b.path));
    const best = present[0]!;
    add(best.link, best.name, best.path, best.package);
    for (const s of best.slaves) add(s.link, s.name, s.path, best.package);
  }
  return { entries, warnings, from: [...from].sort() };
}
