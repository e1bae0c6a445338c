// Owns the syntax of package relationship fields (Debian Policy §7.1): a relation is a
// comma-separated list of clauses, a clause is `|`-separated alternatives, and an atom is
// `name[:arch] [(op version)]`. Architecture restrictions `[...]` and build profiles
// `<...>` (source packages only) are accepted and dropped.
import { StrataError } from '../errors.js';
import { tryParseVersion, type VersionOperator } from './version.js';

export interface RelationAtom {
  name: string;
  /** Architecture qualifier: `any`, `native`, or an architecture name. */
  arch?: string;
  op?: VersionOperator;
  version?: string;
}

/** Alternatives: the clause holds when any atom holds. */
export type RelationClause = RelationAtom[];

/** All clauses must hold. */
export type Relation = RelationClause[];

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ATOM = /^([^\s:(]+)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^\s)]+)\s*\))?$/;

export function isPackageName(name: string): boolean {
  return PACKAGE_NAME.test(name);
}

export function parseRelationAtom(text: string, context: string): RelationAtom {
  // A profile `<...>` holds no parenthesis or angle bracket, so the `<<`, `<=` and `<` of a
  // version constraint are never taken for the start of one.
  const cleaned = text.replace(/\[[^\]]*\]/g, '').replace(/<[^<>()]*>/g, '').trim();
  const m = ATOM.exec(cleaned);
  if (m === null || !isPackageName(m[1]!)) {
    throw new StrataError('INDEX_INVALID', `${context}: cannot parse relation ${JSON.stringify(text.trim())}`);
  }
  const atom: RelationAtom = { name: m[1]! };
  if (m[2] !== undefined) atom.arch = m[2];
  if (m[3] !== undefined) {
    // `<` and `>` are obsolete spellings of `<=` and `>=` (Policy §7.1).
    atom.op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : (m[3] as VersionOperator);
    const version = m[4]!;
    if (tryParseVersion(version) === undefined) {
      throw new StrataError('INDEX_INVALID', `${context}: ${JSON.stringify(version)} is not a valid version in ${JSON.stringify(text.trim())}`);
    }
    atom.version = version;
  }
  return atom;
}

export function parseRelation(field: string | undefined, context: string): Relation {
  if (field === undefined) return [];
  const text = field.replace(/\n/g, ' ').trim();
  if (text === '') return [];
  return text.split(',').map((clause) => {
    const alternatives = clause.split('|');
    return alternatives.map((a) => parseRelationAtom(a, context));
  });
}

export function formatRelationAtom(atom: RelationAtom): string {
  const name = atom.arch === undefined ? atom.name : `${atom.name}:${atom.arch}`;
  return atom.op === undefined ? name : `${name} (${atom.op} ${atom.version})`;
}

export function formatRelationClause(clause: RelationClause): string {
  return clause.map(formatRelationAtom).join(' | ');
}
