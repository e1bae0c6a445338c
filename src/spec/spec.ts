// Owns the spec's data model: the one YAML format every command reads (docs/spec.md).
import type { PackageRequest } from '../debian/resolve/request.js';

export type { PackageRequest };

export interface Fallback {
  url: string;
  /** `pool`: URL + the index's Filename (a mirror, a snapshot, `strata vendor`'s output);
   *  `flat`: URL + the file's base name (a plain web folder). */
  layout: 'pool' | 'flat';
}

export interface SourceSpec {
  mirror?: string;
  suites?: string[];
  components?: string[];
  keyring?: string;
  fallbacks: Fallback[];
}

export interface GroupSpec {
  name: string;
  gid: number;
}

export interface UserSpec {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface PathSpec {
  path: string;
  type: 'directory' | 'file' | 'symlink';
  uid: number;
  gid: number;
  mode: number;
  /** For files: the content. */
  content?: string;
  /** For symlinks: the target. */
  target?: string;
  /** For directories: where the program writes its data (the image config's Volumes). */
  volume?: boolean;
}

export type Profile = 'slim' | 'full';

export interface Spec {
  source: SourceSpec;
  architectures: string[];
  packages: PackageRequest[];
  exclude: string[];
  recommends: boolean;
  accounts: { groups: GroupSpec[]; users: UserSpec[]; runAs?: string };
  entrypoint?: string[];
  cmd?: string[];
  env: Record<string, string>;
  workdir?: string;
  paths: PathSpec[];
  profile: Profile;
  layers: { budget: number; compression?: 'gzip' | 'zstd' };
  annotations: Record<string, string>;
  /** SOURCE_DATE_EPOCH for the build; see docs/reproducibility.md for the precedence. */
  epoch?: number;
}

/** A spec with where it came from. */
export interface LoadedSpec {
  spec: Spec;
  /** Absolute path of the spec file. */
  path: string;
  /** sha256 of the spec text with line endings normalised to \n. */
  textSha256: string;
}

export const DEFAULT_LAYER_BUDGET = 100;
