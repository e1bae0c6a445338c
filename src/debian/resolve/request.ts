// Owns the shape of one requested package as the resolver sees it (the spec's `packages:`
// entries parse into this): a name, an optional suite pin and an optional version constraint.
import type { VersionOperator } from '../version.js';

export interface PackageRequest {
  name: string;
  /** Take the package from this suite only (`redis-server/bookworm-backports`). */
  suite?: string;
  op?: VersionOperator;
  version?: string;
  /** As written in the spec. */
  text: string;
}
