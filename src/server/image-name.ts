// Owns the grammar of on-demand image names (docs/serve.md): the repository path of a
// pull names a set of Debian packages, `localhost:5000/python3/python3-requests`.
//
//   name       = [arch "/"] ( "spec/" SPEC | item *("/" item) )
//   item       = "shell" | "nonroot" | package
//   package    = a Debian package name, escaped where OCI names forbid its characters
//
// The packages are a set: order and repetition do not change the image, so every name has a
// canonical form (architecture, then meta-components, then packages in byte order) that keys
// the store. Escaping (Debian names never contain `_`, so it is unambiguous):
//   `+` → `_p` always (`libstdc++6` → `libstdc_p_p6`, `g++` → `g_p_p`)
//   `.` → `_d` and `-` → `_m` only where OCI's grammar forbids them as written (at the end,
//   or before a `_` escape or another separator); decoding accepts either spelling anywhere.
import { StrataError } from '../errors.js';
import { isPackageName } from '../debian/relation.js';

/** Debian architectures an image name may start with (docs/spec.md's list). */
export const NAME_ARCHITECTURES = ['amd64', 'arm64', 'armel', 'armhf', 'i386', 'mips64el', 'ppc64el', 's390x', 'riscv64', 'loong64'];

/** What `shell` adds: an interactive shell and the core utilities. */
export const SHELL_PACKAGES = ['bash', 'coreutils'];

/** The account `nonroot` declares and runs as (distroless's convention). */
export const NONROOT = { name: 'nonroot', uid: 65532, gid: 65532, home: '/home/nonroot' } as const;

export interface ImageRequest {
  /** The architecture prefix, when the name has one. */
  architecture?: string;
  /** The named spec (`spec/NAME`); then nothing else is set. */
  spec?: string;
  shell: boolean;
  nonroot: boolean;
  /** Debian package names (decoded), unique, in byte order; without what `shell` adds. */
  packages: string[];
}

// OCI distribution-spec: path components of lower-case alphanumerics joined by `.`, `_`,
// `__` or runs of `-`.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const MAX_NAME = 255;

const byBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function invalid(name: string, why: string, hint?: string): never {
  throw new StrataError('NAME_INVALID', `invalid repository name ${JSON.stringify(name.slice(0, 300))}: ${why}`, {
    hint: hint ?? 'a name lists Debian packages separated by "/", such as python3/python3-requests; see the server\'s home page',
  });
}

const isAlnum = (c: string | undefined) => c !== undefined && /^[a-z0-9]$/.test(c);

/** A Debian package name as an OCI path component. */
export function encodePackageName(pkg: string): string {
  const out: string[] = [];
  // Right to left, so that each character knows what follows it in the output.
  for (let i = pkg.length - 1; i >= 0; i--) {
    const c = pkg[i]!;
    const next = out[0]?.[0];
    if (c === '+') out.unshift('_p');
    else if (c === '.') out.unshift(isAlnum(next) ? '.' : '_d');
    else if (c === '-') out.unshift(isAlnum(next) || next === '-' ? '-' : '_m');
    else out.unshift(c);
  }
  return out.join('');
}

/** An OCI path component back to a Debian package name; undefined when it is no valid one. */
export function decodePackageName(component: string): string | undefined {
  let out = '';
  for (let i = 0; i < component.length; i++) {
    const c = component[i]!;
    if (c !== '_') {
      out += c;
      continue;
    }
    const e = component[++i];
    if (e === 'p') out += '+';
    else if (e === 'd') out += '.';
    else if (e === 'm') out += '-';
    else return undefined;
  }
  return isPackageName(out) ? out : undefined;
}

export function parseImageName(name: string): ImageRequest {
  if (name.length === 0) invalid(name, 'it is empty');
  if (name.length > MAX_NAME) invalid(name, `it is ${name.length} characters long; the limit is ${MAX_NAME}`, 'ask for fewer packages per image, or put them in a named spec in the server config');
  const parts = name.split('/');
  parts.forEach((p, i) => {
    if (!COMPONENT.test(p)) {
      const pkg = p.replace(/[^a-z0-9+.-]/g, '');
      if (pkg === p && isPackageName(p)) invalid(name, `OCI names cannot hold ${JSON.stringify(p)} as written; write it ${encodePackageName(p)}`);
      invalid(name, `component ${i + 1} ${JSON.stringify(p)} is not lower-case letters and digits joined by ".", "_" or "-"`, 'write "+" as "_p" (libstdc++6 → libstdc_p_p6); see the server\'s home page for the escaping');
    }
  });
  const req: ImageRequest = { shell: false, nonroot: false, packages: [] };
  let rest = parts;
  if (NAME_ARCHITECTURES.includes(rest[0]!)) {
    req.architecture = rest[0]!;
    rest = rest.slice(1);
    if (rest.length === 0) invalid(name, 'it names an architecture but no package');
  }
  if (rest[0] === 'spec') {
    if (rest.length !== 2) invalid(name, 'a named spec is spec/NAME, with nothing after it', 'name one spec of the server config: spec/NAME');
    if (req.architecture !== undefined) invalid(name, 'a named spec says its architectures itself; drop the architecture prefix');
    req.spec = rest[1]!;
    return req;
  }
  const packages = new Set<string>();
  for (const part of rest) {
    if (NAME_ARCHITECTURES.includes(part)) invalid(name, `the architecture ${part} must come first`, `write ${part}/${rest.filter((p) => p !== part).join('/')}`);
    if (part === 'shell') req.shell = true;
    else if (part === 'nonroot') req.nonroot = true;
    else if (part === 'spec') invalid(name, '"spec" must come first: spec/NAME names a spec of the server config');
    else {
      const pkg = decodePackageName(part);
      if (pkg === undefined) invalid(name, `${JSON.stringify(part)} is not a Debian package name (escapes: _p for +, _d for ., _m for -)`);
      packages.add(pkg);
    }
  }
  if (req.shell) for (const p of SHELL_PACKAGES) packages.delete(p);
  req.packages = [...packages].sort(byBytes);
  if (req.packages.length === 0 && !req.shell) invalid(name, 'it names no package', 'add at least one package: nonroot/redis-server');
  return req;
}

/** The packages the image's spec asks for: the named ones and what `shell` adds, in byte order. */
export function requestedPackages(req: ImageRequest): string[] {
  return [...new Set([...req.packages, ...(req.shell ? SHELL_PACKAGES : [])])].sort(byBytes);
}

/** The canonical name: the architecture always, then nonroot, shell, and the packages. */
export function canonicalName(req: ImageRequest, defaultArchitecture: string): string {
  if (req.spec !== undefined) return `spec/${req.spec}`;
  const parts = [req.architecture ?? defaultArchitecture];
  if (req.nonroot) parts.push('nonroot');
  if (req.shell) parts.push('shell');
  parts.push(...req.packages.map(encodePackageName));
  return parts.join('/');
}
