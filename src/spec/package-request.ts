// Owns the syntax of one entry of `packages:`: `name`, `name/suite`, and either followed by
// a version constraint in Debian's relation syntax, `python3 (>= 3.11)`.
import { isPackageName } from '../debian/relation.js';
import { tryParseVersion, type VersionOperator } from '../debian/version.js';
import type { PackageRequest } from './spec.js';

const REQUEST = /^([^\s/(]+)(?:\/([A-Za-z0-9._-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>)\s*([^\s)]+)\s*\))?$/;

/** The request, or a message saying what is wrong with it. */
export function parsePackageRequest(text: string): PackageRequest | string {
  const m = REQUEST.exec(text.trim());
  if (m === null) return `cannot read ${JSON.stringify(text)}; write a package name, optionally "/suite" and a constraint such as "python3 (>= 3.11)"`;
  const name = m[1]!;
  if (!isPackageName(name)) return `${JSON.stringify(name)} is not a valid Debian package name (lower case letters, digits, + - .)`;
  const req: PackageRequest = { name, text: text.trim() };
  if (m[2] !== undefined) req.suite = m[2];
  if (m[3] !== undefined) {
    if (tryParseVersion(m[4]!) === undefined) return `${JSON.stringify(m[4])} is not a valid Debian version`;
    req.op = m[3] as VersionOperator;
    req.version = m[4]!;
  }
  return req;
}
