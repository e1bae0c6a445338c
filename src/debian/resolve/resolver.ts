// Owns dependency resolution: a spec's package requests → one closure per architecture.
//
// The rules (docs/lockfile.md, "How the closure is chosen"):
// - Obligations are processed first-in first-out: the requests in spec order, then each
//   selected package's Pre-Depends, Depends (and Recommends when asked, as soft clauses) in
//   field order. The order of the index never matters: candidates are sorted explicitly.
// - A clause already satisfied by the selection adds only an edge.
// - Otherwise its alternatives are tried in order. For one alternative: a real package of
//   that name before packages that provide it; real versions highest first (a version kept
//   from the lock first, for partial updates), equal versions by suite order; providers by
//   Priority (required < important < standard < optional < extra), then name, then version.
//   An alternative naming a package left out by the profile satisfies the clause by
//   exclusion, and the exclusion is recorded.
// - One version per package name; Conflicts and Breaks (both directions, Provides included,
//   a package never conflicts with itself) rule a candidate out.
// - When no candidate fits, the solver backtracks chronologically to the last clause with an
//   untried alternative; when none is left it reports the first failure it met, with the
//   chain of dependencies that led there.
// - Essential packages are never added implicitly, only when requested or depended on.
// - Pruning: first-in first-out can select a package for a clause that a package selected
//   later meets as well (bookworm's phpmyadmin: its `php-json` clause came before php-cli's
//   dependency php8.2-cli, which provides php-json, so the real php-json came in for
//   nothing; apt, which installs depth first, does not install it). So once solving is done,
//   the closure is derived again from the requests over the final selection, keeping a
//   package only when a kept package needs it: a clause that a kept package meets adds an
//   edge; a clause that only one selected package meets keeps that package; when every
//   open clause has several selected candidates, the first open one (kept packages in the
//   order kept, clauses in field order) keeps the package the solver chose for it, and the
//   derivation goes on. A clause met by leaving a package out stays so unless a kept package
//   comes to meet it. Packages never kept are dropped, with the exclusions only they
//   recorded. The closure is a subset of a selection without conflicts in which every
//   clause of every kept package is met, so it is as installable and never larger.
import { StrataError } from '../../errors.js';
import type { PackageRequest } from './request.js';
import { closestNames } from '../../util/closest-name.js';
import { parseRelation, formatRelationAtom, formatRelationClause, type RelationAtom, type RelationClause } from '../relation.js';
import { compareVersions, satisfiesVersion } from '../version.js';
import type { PackageRecord } from '../package-index.js';
import type { Candidate, Universe } from '../universe.js';

export interface ResolveOptions {
  universe: Universe;
  requests: PackageRequest[];
  recommends: boolean;
  /** Packages left out of the closure when only depended on: name → reason. */
  excluded: ReadonlyMap<string, string>;
  /** Versions to keep when possible (partial `--update`): name → version. */
  preferred?: ReadonlyMap<string, string>;
  /** Upper bound on backtracking steps before giving up. */
  maxBacktracks?: number;
}

export interface ResolvedPackage {
  candidate: Candidate;
  requested: boolean;
  /** Names in the closure that this package's dependencies resolved to, sorted. */
  depends: string[];
  /** The relation clause that brought the package in, and who had it (null: the spec). */
  via: { from: string | null; clause: string };
}

export interface ExcludedPackage {
  name: string;
  reason: string;
  /** Packages of the closure whose dependencies named it, sorted. */
  requiredBy: string[];
}

export interface Resolution {
  architecture: string;
  /** Sorted by name. */
  packages: ResolvedPackage[];
  /** Sorted by name. */
  excluded: ExcludedPackage[];
}

interface Obligation {
  from: string | null;
  clause: RelationClause;
  soft: boolean;
  /** Position of the clause among its package's Pre-Depends, Depends and Recommends clauses. */
  index?: number;
  /** For requests: the suite the spec pinned the package to. */
  suite?: string;
  request?: PackageRequest;
}

type Option =
  | { kind: 'package'; candidate: Candidate; atom: RelationAtom }
  | { kind: 'exclude'; name: string; atom: RelationAtom };

interface ChoicePoint {
  head: number;
  options: Option[];
  next: number;
  marks: { order: number; obligations: number; edges: number; exclusions: number };
}

interface Selected {
  candidate: Candidate;
  obligation: Obligation;
}

const PRIORITY_RANK: Record<string, number> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };

const relationCache = new WeakMap<PackageRecord, { pre: RelationClause[]; dep: RelationClause[]; rec: RelationClause[]; conflicts: RelationAtom[]; provides: RelationAtom[] }>();

function relationsOf(record: PackageRecord) {
  let r = relationCache.get(record);
  if (r === undefined) {
    const ctx = `${record.name} ${record.version}`;
    r = {
      pre: parseRelation(record.preDepends, `${ctx} Pre-Depends`),
      dep: parseRelation(record.depends, `${ctx} Depends`),
      rec: parseRelation(record.recommends, `${ctx} Recommends`),
      conflicts: [...parseRelation(record.conflicts, `${ctx} Conflicts`), ...parseRelation(record.breaks, `${ctx} Breaks`)].flat(),
      provides: parseRelation(record.provides, `${ctx} Provides`).flat(),
    };
    relationCache.set(record, r);
  }
  return r;
}

function versionOk(version: string, atom: RelationAtom): boolean {
  return atom.op === undefined || satisfiesVersion(version, atom.op, atom.version!);
}

class Solver {
  private readonly u: Universe;
  private readonly opts: ResolveOptions;
  private readonly selected = new Map<string, Selected>();
  private readonly order: string[] = [];
  /** virtual name → selected providers with the version they provide (if any). */
  private readonly provided = new Map<string, Array<{ by: string; version?: string }>>();
  /** target name → Conflicts/Breaks atoms of selected packages that name it. */
  private readonly conflictsOn = new Map<string, Array<{ by: string; atom: RelationAtom }>>();
  private readonly obligations: Obligation[] = [];
  /** Decisions, in order: which package met a clause (index) of `from`, or which name it left out. */
  private readonly edges: Array<{ from: string; to: string; index: number }> = [];
  private readonly exclusions: Array<{ name: string; by: string | null; index: number }> = [];
  private readonly choices: ChoicePoint[] = [];
  private firstFailure: StrataError | undefined;

  constructor(opts: ResolveOptions) {
    this.u = opts.universe;
    this.opts = opts;
  }

  run(): Resolution {
    for (const request of this.opts.requests) {
      const atom: RelationAtom = { name: request.name };
      if (request.op !== undefined) {
        atom.op = request.op;
        atom.version = request.version!;
      }
      const ob: Obligation = { from: null, clause: [atom], soft: false, request };
      if (request.suite !== undefined) ob.suite = request.suite;
      this.obligations.push(ob);
    }
    let head = 0;
    let backtracks = 0;
    const maxBacktracks = this.opts.maxBacktracks ?? 20_000;
    while (head < this.obligations.length) {
      const ob = this.obligations[head]!;
      const failure = this.process(ob, head);
      if (failure === undefined) {
        head++;
        continue;
      }
      this.firstFailure ??= failure;
      const resumed = backtracks++ < maxBacktracks ? this.backtrack() : undefined;
      if (resumed === undefined) throw this.firstFailure;
      head = resumed;
    }
    return this.result();
  }

  /** Handles one obligation; returns an error when it cannot be met. */
  private process(ob: Obligation, head: number): StrataError | undefined {
    for (const atom of ob.clause) {
      const by = this.satisfiedBy(atom);
      if (by !== undefined) {
        if (ob.from !== null) this.edges.push({ from: ob.from, to: by, index: ob.index! });
        return undefined;
      }
    }
    const rejected: string[] = [];
    const options = this.optionsFor(ob, rejected);
    if (options instanceof StrataError) return options;
    if (options.length === 0) {
      if (ob.soft) return undefined;
      return this.unsatisfiable(ob, rejected);
    }
    if (options.length > 1) {
      this.choices.push({ head, options, next: 1, marks: this.marks() });
    }
    this.apply(ob, options[0]!);
    return undefined;
  }

  private marks() {
    return { order: this.order.length, obligations: this.obligations.length, edges: this.edges.length, exclusions: this.exclusions.length };
  }

  private backtrack(): number | undefined {
    for (;;) {
      const cp = this.choices[this.choices.length - 1];
      if (cp === undefined) return undefined;
      if (cp.next >= cp.options.length) {
        this.choices.pop();
        continue;
      }
      this.undoTo(cp.marks);
      const option = cp.options[cp.next++]!;
      const ob = this.obligations[cp.head]!;
      // Re-check: the option was valid against the state at this point, which undo restored.
      this.apply(ob, option);
      return cp.head + 1;
    }
  }

  private undoTo(marks: ChoicePoint['marks']): void {
    while (this.order.length > marks.order) {
      const name = this.order.pop()!;
      const sel = this.selected.get(name)!;
      this.selected.delete(name);
      const rel = relationsOf(sel.candidate.record);
      for (const p of rel.provides) {
        const list = this.provided.get(p.name)!;
        const i = list.findIndex((e) => e.by === name);
        if (i >= 0) list.splice(i, 1);
      }
      for (const c of rel.conflicts) {
        const list = this.conflictsOn.get(c.name)!;
        const i = list.findIndex((e) => e.by === name);
        if (i >= 0) list.splice(i, 1);
      }
    }
    this.obligations.length = marks.obligations;
    this.edges.length = marks.edges;
    this.exclusions.length = marks.exclusions;
  }

  private apply(ob: Obligation, option: Option): void {
    if (option.kind === 'exclude') {
      this.exclusions.push({ name: option.name, by: ob.from, index: ob.index ?? -1 });
      return;
    }
    const { candidate } = option;
    const record = candidate.record;
    const name = record.name;
    this.selected.set(name, { candidate, obligation: ob });
    this.order.push(name);
    if (ob.from !== null) this.edges.push({ from: ob.from, to: name, index: ob.index! });
    const rel = relationsOf(record);
    for (const p of rel.provides) {
      const entry: { by: string; version?: string } = { by: name };
      if (p.op === '=' && p.version !== undefined) entry.version = p.version;
      const list = this.provided.get(p.name);
      if (list === undefined) this.provided.set(p.name, [entry]);
      else list.push(entry);
    }
    for (const c of rel.conflicts) {
      const list = this.conflictsOn.get(c.name);
      if (list === undefined) this.conflictsOn.set(c.name, [{ by: name, atom: c }]);
      else list.push({ by: name, atom: c });
    }
    this.clausesOf(record).forEach((c, index) => this.obligations.push({ from: name, clause: c.clause, soft: c.soft, index }));
  }

  private archOk(candidate: Candidate, atom: RelationAtom, real: boolean): boolean {
    if (atom.arch === undefined || atom.arch === 'native' || atom.arch === this.u.architecture) return true;
    if (atom.arch === 'any') return !real || candidate.record.multiArch === 'allowed';
    return false;
  }

  /** The selected package that satisfies an atom, if any. */
  private satisfiedBy(atom: RelationAtom): string | undefined {
    const sel = this.selected.get(atom.name);
    if (sel !== undefined && versionOk(sel.candidate.record.version, atom) && this.archOk(sel.candidate, atom, true)) return atom.name;
    for (const p of this.provided.get(atom.name) ?? []) {
      if (atom.op === undefined || (p.version !== undefined && satisfiesVersion(p.version, atom.op, atom.version!))) return p.by;
    }
    return undefined;
  }

  private conflict(candidate: Candidate): string | undefined {
    const record = candidate.record;
    const name = record.name;
    for (const c of this.conflictsOn.get(name) ?? []) {
      if (c.by !== name && versionOk(record.version, c.atom)) return `${name} ${record.version} is in conflict with ${c.by} (${c.by} declares Conflicts/Breaks: ${formatRelationAtom(c.atom)}; ${this.chain(c.by)})`;
    }
    const rel = relationsOf(record);
    for (const p of rel.provides) {
      for (const c of this.conflictsOn.get(p.name) ?? []) {
        if (c.by !== name && c.atom.op === undefined) return `${name} provides ${p.name}, which ${c.by} conflicts with (${this.chain(c.by)})`;
      }
    }
    for (const atom of rel.conflicts) {
      const sel = this.selected.get(atom.name);
      if (sel !== undefined && atom.name !== name && versionOk(sel.candidate.record.version, atom)) {
        return `${name} ${record.version} declares Conflicts/Breaks: ${formatRelationAtom(atom)}, but ${atom.name} ${sel.candidate.record.version} is already in (${this.chain(atom.name)})`;
      }
      if (atom.op === undefined) {
        for (const p of this.provided.get(atom.name) ?? []) {
          if (p.by !== name) return `${name} conflicts with ${atom.name}, which ${p.by} provides (${this.chain(p.by)})`;
        }
      }
    }
    return undefined;
  }

  private realCandidates(atom: RelationAtom, suite: string | undefined): Candidate[] {
    const preferred = this.opts.preferred?.get(atom.name);
    return this.u
      .packages(atom.name)
      .filter((c) => (suite === undefined || c.suite === suite) && versionOk(c.record.version, atom) && this.archOk(c, atom, true))
      .sort((a, b) => {
        if (preferred !== undefined) {
          const pa = a.record.version === preferred ? 0 : 1;
          const pb = b.record.version === preferred ? 0 : 1;
          if (pa !== pb) return pa - pb;
        }
        return compareVersions(b.record.version, a.record.version) || a.suiteOrder - b.suiteOrder || (a.record.architecture < b.record.architecture ? -1 : 1);
      });
  }

  private providerCandidates(atom: RelationAtom): Candidate[] {
    return this.u
      .providers(atom.name)
      .filter((c) => {
        if (c.record.name === atom.name) return false;
        if (!this.archOk(c, atom, false)) return false;
        if (atom.op === undefined) return true;
        return relationsOf(c.record).provides.some((p) => p.name === atom.name && p.op === '=' && satisfiesVersion(p.version!, atom.op!, atom.version!));
      })
      .sort((a, b) => {
        const ra = PRIORITY_RANK[a.record.priority] ?? 5;
        const rb = PRIORITY_RANK[b.record.priority] ?? 5;
        if (ra !== rb) return ra - rb;
        if (a.record.name !== b.record.name) return a.record.name < b.record.name ? -1 : 1;
        return compareVersions(b.record.version, a.record.version) || a.suiteOrder - b.suiteOrder;
      });
  }

  private optionsFor(ob: Obligation, rejected: string[]): Option[] | StrataError {
    const options: Option[] = [];
    const seen = new Set<Candidate>();
    for (const atom of ob.clause) {
      if (ob.request === undefined && this.opts.excluded.has(atom.name)) {
        options.push({ kind: 'exclude', name: atom.name, atom });
        continue;
      }
      const real = this.realCandidates(atom, ob.suite);
      const providers = ob.suite === undefined ? this.providerCandidates(atom) : [];
      if (ob.request !== undefined && real.length === 0) {
        const names = [...new Set(providers.map((p) => p.record.name))];
        if (names.length === 0) {
          // The name exists, but not in the asked suite or at the asked version: say which are there.
          if (this.u.packages(atom.name).length > 0) return this.unsatisfiable(ob, [this.noCandidate(atom, ob.suite)]);
          return this.unknownRequest(ob.request);
        }
        if (names.length > 1) {
          return new StrataError('UNSATISFIABLE', `${ob.request.name} is a virtual package provided by ${names.join(', ')}; request one of them`, {
            detail: { package: ob.request.name, providers: names },
            hint: `replace ${ob.request.name} in packages: with the provider you want`,
          });
        }
      }
      for (const candidate of [...real, ...providers]) {
        if (seen.has(candidate)) continue;
        seen.add(candidate);
        const name = candidate.record.name;
        const sel = this.selected.get(name);
        if (sel !== undefined) {
          rejected.push(`${name} ${candidate.record.version} cannot be used because ${name} ${sel.candidate.record.version} is already in (${this.chain(name)})`);
          continue;
        }
        if (ob.request === undefined && this.opts.excluded.has(name)) {
          options.push({ kind: 'exclude', name, atom });
          continue;
        }
        const why = this.conflict(candidate);
        if (why !== undefined) {
          rejected.push(why);
          continue;
        }
        options.push({ kind: 'package', candidate, atom });
      }
      if (real.length === 0 && providers.length === 0) rejected.push(this.noCandidate(atom, ob.suite));
    }
    return options;
  }

  private noCandidate(atom: RelationAtom, suite: string | undefined): string {
    const all = this.u.packages(atom.name);
    if (all.length === 0 && this.u.providers(atom.name).length === 0) return `no package ${atom.name} exists for ${this.u.architecture}`;
    const inSuite = suite === undefined ? all : all.filter((c) => c.suite === suite);
    if (suite !== undefined && inSuite.length === 0) {
      return `${atom.name} is not in suite ${suite} (it is in ${[...new Set(all.map((c) => c.suite))].join(', ') || 'no suite'})`;
    }
    const versions = inSuite.map((c) => `${c.record.version} (${c.suite})`).join(', ');
    if (atom.arch !== undefined && atom.arch !== 'any' && atom.arch !== 'native' && atom.arch !== this.u.architecture) {
      return `${formatRelationAtom(atom)} needs another architecture; strata resolves one architecture per closure`;
    }
    if (atom.arch === 'any') return `${formatRelationAtom(atom)} needs Multi-Arch: allowed, which ${atom.name} is not`;
    return `${formatRelationAtom(atom)}: available ${versions || 'only as provided by other packages'}, none satisfies it`;
  }

  private unknownRequest(request: PackageRequest): StrataError {
    const near = closestNames(request.name, this.u.allNames(), 5);
    return new StrataError('PACKAGE_UNKNOWN', `no package named ${request.name} for ${this.u.architecture}${near.length > 0 ? `; did you mean ${near.join(', ')}?` : ''}`, {
      detail: { package: request.name, architecture: this.u.architecture, suggestions: near },
      hint: 'check the name (apt-cache search NAME lists candidates), the suites and the components of the spec',
    });
  }

  private unsatisfiable(ob: Obligation, rejected: string[]): StrataError {
    const clause = formatRelationClause(ob.clause);
    const chain = ob.from === null ? 'requested by the spec' : `${this.chain(ob.from)} → ${clause}`;
    const conflict = rejected.some((r) => r.includes('conflict'));
    return new StrataError(conflict ? 'CONFLICT' : 'UNSATISFIABLE', `cannot satisfy ${clause} (${chain}): ${rejected.join('; ') || 'no candidate'}`, {
      detail: { clause, from: ob.from, chain: ob.from === null ? [] : this.chainList(ob.from), reasons: rejected },
      hint: conflict ? 'remove one of the two packages from packages:, or pin versions that agree' : 'relax the version constraint, add the suite that has the version, or remove the package',
    });
  }

  private chainList(name: string): string[] {
    const out = [name];
    let cur = this.selected.get(name);
    const guard = new Set<string>([name]);
    while (cur !== undefined && cur.obligation.from !== null && !guard.has(cur.obligation.from)) {
      out.unshift(cur.obligation.from);
      guard.add(cur.obligation.from);
      cur = this.selected.get(cur.obligation.from);
    }
    return out;
  }

  /** "requested redis-server → redis-tools → libc6". */
  private chain(name: string): string {
    return `spec → ${this.chainList(name).join(' → ')}`;
  }

  /** A package's clauses in processing order: Pre-Depends, Depends, then Recommends when asked. */
  private clausesOf(record: PackageRecord): Array<{ clause: RelationClause; soft: boolean }> {
    const rel = relationsOf(record);
    const out = [...rel.pre, ...rel.dep].map((clause) => ({ clause, soft: false }));
    if (this.opts.recommends) for (const clause of rel.rec) out.push({ clause, soft: true });
    return out;
  }

  /** Every selected package that meets a clause, in the clause's order, without repeats. */
  private satisfiers(clause: RelationClause): string[] {
    const out: string[] = [];
    for (const atom of clause) {
      const sel = this.selected.get(atom.name);
      if (sel !== undefined && versionOk(sel.candidate.record.version, atom) && this.archOk(sel.candidate, atom, true)) out.push(atom.name);
      for (const p of this.provided.get(atom.name) ?? []) {
        if (atom.op === undefined || (p.version !== undefined && satisfiesVersion(p.version, atom.op, atom.version!))) out.push(p.by);
      }
    }
    return [...new Set(out)];
  }

  /**
   * Keeps only the selected packages that the final selection needs (the pruning rule at the
   * top of this file). Returns, for each kept package, the clause that keeps it and the
   * packages its clauses resolve to, and the names left out by kept packages.
   */
  private prune() {
    const decided = new Map<string, { to?: string; excluded?: string }>();
    const key = (from: string, index: number) => `${from}\0${index}`;
    for (const e of this.edges) decided.set(key(e.from, e.index), { to: e.to });
    for (const x of this.exclusions) if (x.by !== null) decided.set(key(x.by, x.index), { excluded: x.name });

    const kept: string[] = [];
    const via = new Map<string, { from: string | null; clause: string }>();
    const depends = new Map<string, Set<string>>();
    const keep = (name: string, from: string | null, clause: RelationClause) => {
      if (via.has(name)) return;
      via.set(name, { from, clause: formatRelationClause(clause) });
      kept.push(name);
      depends.set(name, new Set());
    };
    for (const name of this.order) {
      const sel = this.selected.get(name)!;
      if (sel.obligation.from === null) keep(name, null, sel.obligation.clause);
    }
    const settled = new Set<string>();
    for (;;) {
      let added = false;
      let choice: { from: string; k: string; to: string; clause: RelationClause } | undefined;
      for (let i = 0; i < kept.length; i++) {
        const from = kept[i]!;
        this.clausesOf(this.selected.get(from)!.candidate.record).forEach(({ clause }, index) => {
          const k = key(from, index);
          if (settled.has(k)) return;
          const d = decided.get(k);
          if (d === undefined) {
            settled.add(k); // a Recommends nothing met
            return;
          }
          const sats = this.satisfiers(clause);
          const hit = sats.find((n) => via.has(n));
          if (hit !== undefined) {
            settled.add(k);
            if (hit !== from) depends.get(from)!.add(hit);
            return;
          }
          if (d.excluded !== undefined) return; // left out, unless a kept package comes to meet it
          if (sats.length === 1) {
            settled.add(k);
            keep(sats[0]!, from, clause);
            depends.get(from)!.add(sats[0]!);
            added = true;
            return;
          }
          choice ??= { from, k, to: d.to!, clause };
        });
      }
      if (added) continue;
      if (choice === undefined) break;
      const c: { from: string; k: string; to: string; clause: RelationClause } = choice;
      settled.add(c.k);
      keep(c.to, c.from, c.clause);
      depends.get(c.from)!.add(c.to);
    }
    const left: Array<{ name: string; by: string }> = [];
    for (const from of kept) {
      this.clausesOf(this.selected.get(from)!.candidate.record).forEach((_, index) => {
        const k = key(from, index);
        const d = decided.get(k);
        if (!settled.has(k) && d?.excluded !== undefined) left.push({ name: d.excluded, by: from });
      });
    }
    return { via, depends, left };
  }

  private result(): Resolution {
    const { via, depends, left } = this.prune();
    const requested = new Set(this.opts.requests.map((r) => r.name));
    const packages: ResolvedPackage[] = [...this.selected.entries()]
      .filter(([name]) => via.has(name))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, sel]) => ({
        candidate: sel.candidate,
        requested: requested.has(name) || (sel.obligation.from === null),
        depends: [...(depends.get(name) ?? [])].sort(),
        via: via.get(name)!,
      }));
    const excludedBy = new Map<string, Set<string>>();
    for (const x of left) {
      let set = excludedBy.get(x.name);
      if (set === undefined) excludedBy.set(x.name, (set = new Set()));
      set.add(x.by);
    }
    const excluded: ExcludedPackage[] = [...excludedBy.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, by]) => ({ name, reason: this.opts.excluded.get(name) ?? '', requiredBy: [...by].sort() }));
    return { architecture: this.u.architecture, packages, excluded };
  }
}

export function resolve(options: ResolveOptions): Resolution {
  return new Solver(options).run();
}
