// Owns the shapes the effects catalogue works with: what the image holds (paths and the
// package facts that put them there) and what an effect writes back.
import type { Spec } from '../spec/spec.js';

export interface GeneratedEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  content?: Buffer;
  linkname?: string;
  xattrs?: Record<string, Buffer>;
}

export interface ImagePath {
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  linkname?: string;
  package: string;
}

/** What a package contributes, as the effects see it (after the profile's filter). */
export interface PackageView {
  name: string;
  version: string;
  control: string;
  md5sums: string;
  scripts: Partial<Record<string, string>>;
  /** Contents of the effect-input files this package ships. */
  extracted: Map<string, Buffer>;
  /** The non-root owners its kept files have in the .deb, by name and ID (`group shadow 42`). */
  fileOwners?: FileOwner[];
}

export interface FileOwner {
  kind: 'user' | 'group';
  name: string;
  id: number;
}

export interface EffectContext {
  architecture: string;
  spec: Spec;
  packages: PackageView[];
  /** Every path the packages put in the image, after the profile's filter. */
  paths: Map<string, ImagePath>;
}

export interface EffectResult {
  entries: GeneratedEntry[];
  warnings: string[];
  /**
   * The packages whose content the entries are made from (certificates, a template, a script's
   * declarations, a link's target): the newest of their times dates the effects layer, so that
   * an update of any other package leaves that layer's bytes alone (docs/reproducibility.md).
   */
  from: string[];
}

export function file(path: string, content: string | Buffer, mode = 0o644): GeneratedEntry {
  return { path, type: 'file', mode, uid: 0, gid: 0, content: Buffer.isBuffer(content) ? content : Buffer.from(content) };
}

export function symlink(path: string, target: string): GeneratedEntry {
  return { path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: target };
}

export function directory(path: string, mode = 0o755, uid = 0, gid = 0): GeneratedEntry {
  return { path, type: 'directory', mode, uid, gid };
}
