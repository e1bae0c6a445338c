// Owns the set of installable candidates for one architecture: every record of the opened
// suites whose architecture is the target or `all`, each tagged with where it came from.
// Suites are kept in the spec's order; a record that appears in several suites (same name,
// version, architecture and sha256) is one candidate, attributed to the first suite.
import type { PackageRecord } from './package-index.js';
import type { PackageIndex } from './index-store.js';

export interface Candidate {
  record: PackageRecord;
  suite: string;
  component: string;
  /** Position of the suite in the spec's list: the tie-breaker between equal versions. */
  suiteOrder: number;
}

export interface UniverseSource {
  suite: string;
  component: string;
  index: PackageIndex;
}

export class Universe {
  readonly architecture: string;
  private readonly sources: Array<UniverseSource & { order: number }>;
  private readonly byName = new Map<string, Candidate[]>();
  private readonly byProvided = new Map<string, Candidate[]>();

  constructor(architecture: string, sources: UniverseSource[], suiteOrder: string[]) {
    this.architecture = architecture;
    this.sources = sources.map((s) => ({ ...s, order: Math.max(0, suiteOrder.indexOf(s.suite)) }));
    this.sources.sort((a, b) => a.order - b.order);
  }

  private accept(records: PackageRecord[], into: Candidate[], seen: Set<string>, source: UniverseSource & { order: number }): void {
    for (const record of records) {
      if (record.architecture !== this.architecture && record.architecture !== 'all') continue;
      const key = `${record.name}\0${record.version}\0${record.architecture}\0${record.sha256}`;
      if (seen.has(key)) continue;
      seen.add(key);
      into.push({ record, suite: source.suite, component: source.component, suiteOrder: source.order });
    }
  }

  /** Real packages called `name`. */
  packages(name: string): Candidate[] {
    let list = this.byName.get(name);
    if (list === undefined) {
      list = [];
      const seen = new Set<string>();
      for (const s of this.sources) this.accept(s.index.get(name), list, seen, s);
      this.byName.set(name, list);
    }
    return list;
  }

  /** Packages whose Provides names `name`. */
  providers(name: string): Candidate[] {
    let list = this.byProvided.get(name);
    if (list === undefined) {
      list = [];
      const seen = new Set<string>();
      for (const s of this.sources) this.accept(s.index.providers(name), list, seen, s);
      this.byProvided.set(name, list);
    }
    return list;
  }

  /** Whether any suite knows the name, as a package or as something provided. */
  knows(name: string): boolean {
    return this.packages(name).length > 0 || this.providers(name).length > 0;
  }

  /** Every real package name, for "did you mean" suggestions. */
  *allNames(): IterableIterator<string> {
    const seen = new Set<string>();
    for (const s of this.sources) {
      for (const n of s.index.allNames()) {
        if (!seen.has(n)) {
          seen.add(n);
          yield n;
        }
      }
    }
  }
}
