// Owns reading and validating a spec from YAML text. Every error names the file, the line
// and the field (`redis.yaml:7: packages[1]: ...`), and unknown fields are refused with the
// closest known name, so a typo never silently changes an image.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type YAMLMap } from 'yaml';
import { StrataError } from '../errors.js';
import { closestName } from '../util/closest-name.js';
import { parsePackageRequest } from './package-request.js';
import { DEFAULT_LAYER_BUDGET, type Fallback, type GroupSpec, type PathSpec, type Spec, type UserSpec } from './spec.js';

const ARCHITECTURES = ['amd64', 'arm64', 'armel', 'armhf', 'i386', 'mips64el', 'ppc64el', 's390x', 'riscv64', 'loong64'];
const NAME = /^[a-z_][a-z0-9_-]*\$?$/;

class Ctx {
  constructor(
    readonly file: string,
    readonly lines: LineCounter,
  ) {}

  fail(node: YamlNode | null | undefined, path: string, why: string): never {
    const offset = node?.range?.[0];
    const line = offset === undefined ? undefined : this.lines.linePos(offset).line;
    const where = line === undefined ? this.file : `${this.file}:${line}`;
    throw new StrataError('SPEC_INVALID', `${where}: ${path ? `${path}: ` : ''}${why}`, {
      detail: { file: this.file, line, field: path || undefined },
      hint: 'see docs/spec.md for every field and its format',
    });
  }
}

type Fields = Map<string, { key: YamlNode; value: YamlNode | null }>;

function fieldsOf(ctx: Ctx, node: YamlNode | null, path: string, known: string[]): Fields {
  if (!isMap(node)) ctx.fail(node, path, 'expected a mapping of field: value');
  const out: Fields = new Map();
  for (const pair of (node as YAMLMap).items) {
    const keyNode = pair.key as YamlNode;
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string') ctx.fail(keyNode, path, 'field names must be plain strings');
    const key = (keyNode as { value: string }).value;
    const where = path ? `${path}.${key}` : key;
    if (!known.includes(key)) {
      const near = closestName(key, known);
      ctx.fail(keyNode, where, `unknown field${near ? ` (did you mean "${near}"?)` : ''}; known: ${known.join(', ')}`);
    }
    if (out.has(key)) ctx.fail(keyNode, where, 'field given twice');
    out.set(key, { key: keyNode, value: (pair.value as YamlNode | null) ?? null });
  }
  return out;
}

function str(ctx: Ctx, node: YamlNode | null, path: string): string {
  if (!isScalar(node) || typeof node.value !== 'string') ctx.fail(node, path, 'expected a string');
  return (node as { value: string }).value;
}

/** `why`, when given, follows the range in the message (why the range is what it is). */
function int(ctx: Ctx, node: YamlNode | null, path: string, min: number, max: number, why?: string): number {
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) ctx.fail(node, path, 'expected an integer');
  const v = (node as { value: number }).value;
  if (v < min || v > max) ctx.fail(node, path, `must be between ${min} and ${max}, not ${v}${why === undefined ? '' : `: ${why}`}`);
  return v;
}

function bool(ctx: Ctx, node: YamlNode | null, path: string): boolean {
  if (!isScalar(node) || typeof node.value !== 'boolean') ctx.fail(node, path, 'expected true or false');
  return (node as { value: boolean }).value;
}

function list<T>(ctx: Ctx, node: YamlNode | null, path: string, item: (n: YamlNode | null, p: string) => T): T[] {
  if (node === null || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) ctx.fail(node, path, 'expected a list');
  return (node as { items: unknown[] }).items.map((n, i) => item(n as YamlNode | null, `${path}[${i}]`));
}

function stringList(ctx: Ctx, node: YamlNode | null, path: string): string[] {
  return list(ctx, node, path, (n, p) => str(ctx, n, p));
}

function stringMap(ctx: Ctx, node: YamlNode | null, path: string): Record<string, string> {
  if (node === null || (isScalar(node) && node.value === null)) return {};
  if (!isMap(node)) ctx.fail(node, path, 'expected a mapping of name: value');
  const out: Record<string, string> = {};
  for (const pair of (node as YAMLMap).items) {
    const key = str(ctx, pair.key as YamlNode, path);
    const v = pair.value as YamlNode | null;
    if (!isScalar(v) || v.value === null || typeof v.value === 'object') ctx.fail(v, `${path}.${key}`, 'expected a string value');
    const value = (v as { value: unknown }).value;
    if (typeof value !== 'string') {
      // YAML reads 3.10 as the number 3.1, 0x10 as 16 and yes as true: never let that change an image silently.
      const written = (v as { source?: string }).source ?? String(value);
      ctx.fail(v, `${path}.${key}`, `YAML reads ${written} as the ${typeof value} ${String(value)}; quote it ("${written}") to keep it as written`);
    }
    out[key] = value as string;
  }
  return out;
}

function absolutePath(ctx: Ctx, node: YamlNode | null, path: string): string {
  const p = str(ctx, node, path);
  if (!p.startsWith('/')) ctx.fail(node, path, `${JSON.stringify(p)} must be an absolute path inside the image`);
  if (p.split('/').some((part) => part === '..' || part === '.')) ctx.fail(node, path, `${JSON.stringify(p)} must not contain . or .. components`);
  if (p.includes('\0')) ctx.fail(node, path, 'must not contain NUL');
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function url(ctx: Ctx, node: YamlNode | null, path: string): string {
  const u = str(ctx, node, path);
  if (u.startsWith('/') || u.startsWith('./') || u.startsWith('../')) return u;
  let parsed: URL | undefined;
  try {
    parsed = new URL(u);
  } catch {
    ctx.fail(node, path, `${JSON.stringify(u)} is not a URL`);
  }
  if (!['http:', 'https:', 'file:'].includes(parsed!.protocol)) ctx.fail(node, path, `unsupported URL scheme ${parsed!.protocol}`);
  return u.replace(/\/+$/, '');
}

function parseFallback(ctx: Ctx, node: YamlNode | null, path: string): Fallback {
  if (isScalar(node)) return { url: url(ctx, node, path), layout: 'pool' };
  const f = fieldsOf(ctx, node, path, ['url', 'layout']);
  const u = f.get('url');
  if (u === undefined) ctx.fail(node, path, 'missing url');
  const layout = f.has('layout') ? str(ctx, f.get('layout')!.value, `${path}.layout`) : 'pool';
  if (layout !== 'pool' && layout !== 'flat') ctx.fail(f.get('layout')!.value, `${path}.layout`, 'expected pool or flat');
  return { url: url(ctx, u!.value, `${path}.url`), layout };
}

function parseGroup(ctx: Ctx, node: YamlNode | null, path: string): GroupSpec {
  const f = fieldsOf(ctx, node, path, ['name', 'gid']);
  for (const k of ['name', 'gid']) if (!f.has(k)) ctx.fail(node, path, `missing ${k}`);
  const name = str(ctx, f.get('name')!.value, `${path}.name`);
  if (!NAME.test(name)) ctx.fail(f.get('name')!.value, `${path}.name`, `${JSON.stringify(name)} is not a valid group name`);
  return { name, gid: int(ctx, f.get('gid')!.value, `${path}.gid`, 0, 2147483647) };
}

function parseUser(ctx: Ctx, node: YamlNode | null, path: string): UserSpec {
  const f = fieldsOf(ctx, node, path, ['name', 'uid', 'gid', 'home', 'shell']);
  for (const k of ['name', 'uid', 'gid']) if (!f.has(k)) ctx.fail(node, path, `missing ${k} (uid and gid are required: no ID is chosen by install order)`);
  const name = str(ctx, f.get('name')!.value, `${path}.name`);
  if (!NAME.test(name)) ctx.fail(f.get('name')!.value, `${path}.name`, `${JSON.stringify(name)} is not a valid user name`);
  return {
    name,
    uid: int(ctx, f.get('uid')!.value, `${path}.uid`, 0, 2147483647),
    gid: int(ctx, f.get('gid')!.value, `${path}.gid`, 0, 2147483647),
    home: f.has('home') ? absolutePath(ctx, f.get('home')!.value, `${path}.home`) : '/nonexistent',
    shell: f.has('shell') ? absolutePath(ctx, f.get('shell')!.value, `${path}.shell`) : '/usr/sbin/nologin',
  };
}

function parsePath(ctx: Ctx, node: YamlNode | null, path: string): PathSpec {
  const f = fieldsOf(ctx, node, path, ['path', 'type', 'uid', 'gid', 'mode', 'content', 'target', 'volume']);
  if (!f.has('path')) ctx.fail(node, path, 'missing path');
  const type = f.has('type') ? str(ctx, f.get('type')!.value, `${path}.type`) : 'directory';
  if (type !== 'directory' && type !== 'file' && type !== 'symlink') ctx.fail(f.get('type')!.value, `${path}.type`, 'expected directory, file or symlink');
  const p = absolutePath(ctx, f.get('path')!.value, `${path}.path`);
  if (p === '/') ctx.fail(f.get('path')!.value, `${path}.path`, 'cannot redefine /');
  let mode = type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
  if (f.has('mode')) {
    const m = f.get('mode')!.value;
    const text = isScalar(m) && typeof m.value === 'string' ? m.value : undefined;
    if (text === undefined || !/^0?[0-7]{3,4}$/.test(text)) ctx.fail(m, `${path}.mode`, 'expected an octal mode as a quoted string, such as "0755"');
    mode = parseInt(text!, 8);
  }
  const out: PathSpec = {
    path: p,
    type,
    uid: f.has('uid') ? int(ctx, f.get('uid')!.value, `${path}.uid`, 0, 2147483647) : 0,
    gid: f.has('gid') ? int(ctx, f.get('gid')!.value, `${path}.gid`, 0, 2147483647) : 0,
    mode,
  };
  if (f.has('content')) {
    if (type !== 'file') ctx.fail(f.get('content')!.key, `${path}.content`, 'only a file has content');
    out.content = str(ctx, f.get('content')!.value, `${path}.content`);
  }
  if (f.has('volume')) {
    if (type !== 'directory') ctx.fail(f.get('volume')!.key, `${path}.volume`, 'only a directory can be a volume');
    if (bool(ctx, f.get('volume')!.value, `${path}.volume`)) out.volume = true;
  }
  if (type === 'symlink') {
    if (!f.has('target')) ctx.fail(node, path, 'a symlink needs a target');
    out.target = str(ctx, f.get('target')!.value, `${path}.target`);
  } else if (f.has('target')) {
    ctx.fail(f.get('target')!.key, `${path}.target`, 'only a symlink has a target');
  }
  return out;
}

const TOP = ['source', 'architectures', 'packages', 'exclude', 'recommends', 'accounts', 'entrypoint', 'cmd', 'env', 'workdir', 'paths', 'profile', 'layers', 'annotations', 'epoch'];

/** Parses spec text. `file` names it in errors. */
export function parseSpec(text: string, file: string): Spec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    // With prettyErrors off the yaml library leaves linePos unset; locate the offset ourselves.
    const line = e.linePos?.[0]?.line ?? (e.pos?.[0] === undefined ? undefined : lines.linePos(e.pos[0]).line);
    throw new StrataError('SPEC_INVALID', `${file}${line === undefined ? '' : `:${line}`}: not valid YAML: ${e.message.split('\n')[0]}`, {
      detail: { file, line },
    });
  }
  const ctx = new Ctx(file, lines);
  const root = doc.contents as YamlNode | null;
  if (root === null) ctx.fail(null, '', 'the spec is empty; it needs at least `packages:`');
  const f = fieldsOf(ctx, root, '', TOP);
  const get = (k: string) => f.get(k)?.value ?? null;

  const spec: Spec = {
    source: { fallbacks: [] },
    architectures: ['amd64'],
    packages: [],
    exclude: [],
    recommends: false,
    accounts: { groups: [], users: [] },
    env: {},
    paths: [],
    profile: 'slim',
    layers: { budget: DEFAULT_LAYER_BUDGET },
    annotations: {},
  };

  if (f.has('source')) {
    const s = fieldsOf(ctx, get('source'), 'source', ['mirror', 'suites', 'components', 'keyring', 'fallbacks']);
    if (s.has('mirror')) spec.source.mirror = url(ctx, s.get('mirror')!.value, 'source.mirror');
    if (s.has('suites')) {
      spec.source.suites = stringList(ctx, s.get('suites')!.value, 'source.suites');
      if (spec.source.suites.length === 0) ctx.fail(s.get('suites')!.value, 'source.suites', 'must name at least one suite');
    }
    if (s.has('components')) {
      spec.source.components = stringList(ctx, s.get('components')!.value, 'source.components');
      if (spec.source.components.length === 0) ctx.fail(s.get('components')!.value, 'source.components', 'must name at least one component');
    }
    if (s.has('keyring')) spec.source.keyring = str(ctx, s.get('keyring')!.value, 'source.keyring');
    if (s.has('fallbacks')) spec.source.fallbacks = list(ctx, s.get('fallbacks')!.value, 'source.fallbacks', (n, p) => parseFallback(ctx, n, p));
    if (spec.source.mirror !== undefined && spec.source.suites === undefined) {
      ctx.fail(s.get('mirror')!.key, 'source.suites', 'with source.mirror, name the suites too (for example [bookworm, bookworm-updates])');
    }
  }
  if (f.has('architectures')) {
    const archNode = get('architectures');
    spec.architectures = stringList(ctx, archNode, 'architectures');
    if (spec.architectures.length === 0) ctx.fail(archNode, 'architectures', 'must name at least one architecture');
    spec.architectures.forEach((a, i) => {
      if (!ARCHITECTURES.includes(a)) ctx.fail((archNode as { items: YamlNode[] }).items[i]!, `architectures[${i}]`, `unknown architecture ${JSON.stringify(a)}; known: ${ARCHITECTURES.join(', ')}`);
    });
    if (new Set(spec.architectures).size !== spec.architectures.length) ctx.fail(archNode, 'architectures', 'lists an architecture twice');
  }
  if (!f.has('packages')) ctx.fail(root, 'packages', 'missing: list the packages the image is for, such as [redis-server]');
  const pkgNode = get('packages');
  spec.packages = list(ctx, pkgNode, 'packages', (n, p) => {
    const text = str(ctx, n, p);
    const parsed = parsePackageRequest(text);
    if (typeof parsed === 'string') ctx.fail(n, p, parsed);
    return parsed as Exclude<typeof parsed, string>;
  });
  if (spec.packages.length === 0) ctx.fail(pkgNode, 'packages', 'must list at least one package');
  const seen = new Map<string, number>();
  spec.packages.forEach((p, i) => {
    if (seen.has(p.name)) ctx.fail((pkgNode as { items: YamlNode[] }).items[i]!, `packages[${i}]`, `${p.name} is already requested at packages[${seen.get(p.name)}]`);
    seen.set(p.name, i);
  });
  if (f.has('exclude')) spec.exclude = stringList(ctx, get('exclude'), 'exclude');
  if (f.has('recommends')) spec.recommends = bool(ctx, get('recommends'), 'recommends');
  if (f.has('accounts')) {
    const a = fieldsOf(ctx, get('accounts'), 'accounts', ['groups', 'users', 'run-as']);
    spec.accounts.groups = list(ctx, a.get('groups')?.value ?? null, 'accounts.groups', (n, p) => parseGroup(ctx, n, p));
    spec.accounts.users = list(ctx, a.get('users')?.value ?? null, 'accounts.users', (n, p) => parseUser(ctx, n, p));
    if (a.has('run-as')) {
      const v = a.get('run-as')!.value;
      spec.accounts.runAs = isScalar(v) && typeof v.value === 'number' ? String(v.value) : str(ctx, v, 'accounts.run-as');
    }
    checkAccounts(ctx, spec, a.get('groups')?.value ?? null, a.get('users')?.value ?? null, a.get('run-as')?.value ?? null);
  }
  if (f.has('entrypoint')) spec.entrypoint = stringList(ctx, get('entrypoint'), 'entrypoint');
  if (f.has('cmd')) spec.cmd = stringList(ctx, get('cmd'), 'cmd');
  if (f.has('env')) spec.env = stringMap(ctx, get('env'), 'env');
  for (const key of Object.keys(spec.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      const keyNode = (get('env') as YAMLMap).items.find((pair) => isScalar(pair.key) && pair.key.value === key)?.key as YamlNode | undefined;
      ctx.fail(keyNode ?? get('env'), `env.${key}`, 'not a valid environment variable name');
    }
  }
  if (f.has('workdir')) spec.workdir = absolutePath(ctx, get('workdir'), 'workdir');
  if (f.has('paths')) spec.paths = list(ctx, get('paths'), 'paths', (n, p) => parsePath(ctx, n, p));
  if (f.has('profile')) {
    const p = str(ctx, get('profile'), 'profile');
    if (p !== 'slim' && p !== 'full') ctx.fail(get('profile'), 'profile', 'expected slim or full');
    spec.profile = p as Spec["profile"];
  }
  if (f.has('layers')) {
    const l = fieldsOf(ctx, get('layers'), 'layers', ['budget', 'compression']);
    if (l.has('budget')) spec.layers.budget = int(ctx, l.get('budget')!.value, 'layers.budget', 3, 120, 'an image has at least 3 layers (the base layout, its packages, the effects)');
    if (l.has('compression')) {
      const c = str(ctx, l.get('compression')!.value, 'layers.compression');
      if (c !== 'gzip' && c !== 'zstd') ctx.fail(l.get('compression')!.value, 'layers.compression', 'expected gzip or zstd');
      spec.layers.compression = c as 'gzip' | 'zstd';
    }
  }
  if (f.has('annotations')) spec.annotations = stringMap(ctx, get('annotations'), 'annotations');
  if (f.has('epoch')) spec.epoch = int(ctx, get('epoch'), 'epoch', 0, 253402300799);
  return spec;
}

function checkAccounts(ctx: Ctx, spec: Spec, groupsNode: YamlNode | null, usersNode: YamlNode | null, runAsNode: YamlNode | null): void {
  const { groups, users, runAs } = spec.accounts;
  const byName = new Map<string, number>();
  const byGid = new Map<number, string>();
  groups.forEach((g, i) => {
    const at = (groupsNode as { items: YamlNode[] }).items[i]!;
    if (byName.has(g.name)) ctx.fail(at, `accounts.groups[${i}]`, `group ${g.name} is declared twice`);
    if (byGid.has(g.gid)) ctx.fail(at, `accounts.groups[${i}]`, `gid ${g.gid} is already used by group ${byGid.get(g.gid)}`);
    byName.set(g.name, g.gid);
    byGid.set(g.gid, g.name);
  });
  const userNames = new Set<string>();
  const uids = new Map<number, string>();
  users.forEach((u, i) => {
    const at = (usersNode as { items: YamlNode[] }).items[i]!;
    if (userNames.has(u.name)) ctx.fail(at, `accounts.users[${i}]`, `user ${u.name} is declared twice`);
    if (uids.has(u.uid)) ctx.fail(at, `accounts.users[${i}]`, `uid ${u.uid} is already used by user ${uids.get(u.uid)}`);
    userNames.add(u.name);
    uids.set(u.uid, u.name);
  });
  if (runAs !== undefined && !/^[0-9]+(:[0-9]+)?$/.test(runAs) && !userNames.has(runAs) && runAs !== 'root') {
    ctx.fail(runAsNode, 'accounts.run-as', `${JSON.stringify(runAs)} is not a declared user; declare it under accounts.users or give a numeric uid`);
  }
}

export { specTextSha256 } from './spec-digest.js';
