// Owns the server configuration (`strata serve --config FILE`, docs/serve.md): where to
// listen and store, which archive to serve from, the refresh schedule, named specs and every
// limit. Unknown fields are refused with the closest known name, and errors name the line.
// Paths are relative to the configuration file.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type YAMLMap } from 'yaml';
import { isAbsolute, resolve } from 'node:path';
import { StrataError } from '../errors.js';
import { closestName } from '../util/closest-name.js';
import { NAME_ARCHITECTURES } from './image-name.js';

export interface ServerSource {
  mirror?: string;
  suites?: string[];
  components?: string[];
  keyring?: string;
  fallbacks?: Array<{ url: string; layout: 'pool' | 'flat' }>;
}

export interface ServerLimits {
  /** Packages one image name may list (after `shell` adds its own). */
  packages: number;
  /** Packages the resolved closure may hold. */
  closurePackages: number;
  /** Installed size of the closure, in bytes. */
  closureBytes: number;
  /** How long a request waits for a build before the server answers 503 (the build goes on). */
  buildTimeoutMs: number;
  /** Builds running at once. */
  builds: number;
  /** Builds waiting for a slot before the server answers 429. */
  queue: number;
  /** Size of a request's header block (the request line included). */
  headerBytes: number;
  /** Size of a request body; registry reads have none. */
  bodyBytes: number;
}

export interface ServerConfig {
  /** host:port */
  listen: string;
  /** A folder, or s3://bucket/prefix. */
  store?: string;
  /** For an s3:// store: the endpoint and region (else $S3_ENDPOINT / $AWS_ENDPOINT_URL, $AWS_REGION), and whether to redirect blob GETs to presigned URLs. Credentials come from the environment only. */
  s3?: { endpoint?: string; region?: string; redirect: boolean };
  cacheDir?: string;
  source: ServerSource;
  /** Architectures served; the first is the default of names without a prefix. */
  architectures: string[];
  profile: 'slim' | 'full';
  /**
   * The layer budget of the images (spec `layers.budget`). 120 by default, above the spec's
   * default of 100: a new combination reuses the per-package layers of earlier images only
   * while its plan stays within the budget (merging groups makes new layers).
   */
  budget: number;
  /** Seconds between snapshot refreshes; 0 turns refreshing off. */
  refreshSeconds: number;
  /** Named specs: name → absolute path of the spec file. */
  specs: Record<string, string>;
  limits: ServerLimits;
  /** The file it came from, for messages. */
  file?: string;
}

export const DEFAULT_LIMITS: ServerLimits = {
  packages: 32,
  closurePackages: 600,
  closureBytes: 4 * 1024 ** 3,
  buildTimeoutMs: 300_000,
  builds: 2,
  queue: 64,
  headerBytes: 16 * 1024,
  bodyBytes: 0,
};

export function defaultServerConfig(): ServerConfig {
  return { listen: '127.0.0.1:5000', source: {}, architectures: ['amd64'], profile: 'slim', budget: 120, refreshSeconds: 3600, specs: {}, limits: { ...DEFAULT_LIMITS } };
}

const TOP = ['listen', 'store', 's3', 'cache-dir', 'source', 'architectures', 'profile', 'budget', 'refresh', 'specs', 'limits'];
const SOURCE = ['mirror', 'suites', 'components', 'keyring', 'fallbacks'];
const LIMITS = ['packages', 'closure-packages', 'closure-size', 'build-timeout', 'builds', 'queue', 'header-size', 'body-size'];
const SPEC_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

class Ctx {
  constructor(
    readonly file: string,
    readonly lines: LineCounter,
  ) {}

  fail(node: YamlNode | null | undefined, path: string, why: string): never {
    const offset = node?.range?.[0];
    const where = offset === undefined ? this.file : `${this.file}:${this.lines.linePos(offset).line}`;
    throw new StrataError('CONFIG_INVALID', `${where}: ${path ? `${path}: ` : ''}${why}`, { hint: 'see docs/serve.md for the configuration fields' });
  }
}

function fields(ctx: Ctx, node: YamlNode | null, path: string, known: string[]): Map<string, YamlNode | null> {
  if (!isMap(node)) ctx.fail(node, path, 'expected a mapping of field: value');
  const out = new Map<string, YamlNode | null>();
  for (const pair of (node as YAMLMap).items) {
    const key = pair.key as YamlNode;
    if (!isScalar(key) || typeof key.value !== 'string') ctx.fail(key, path, 'field names must be plain strings');
    const name = (key as { value: string }).value;
    if (!known.includes(name)) {
      const near = closestName(name, known);
      ctx.fail(key, path ? `${path}.${name}` : name, `unknown field${near ? ` (did you mean "${near}"?)` : ''}; known: ${known.join(', ')}`);
    }
    out.set(name, (pair.value as YamlNode | null) ?? null);
  }
  return out;
}

function str(ctx: Ctx, node: YamlNode | null, path: string): string {
  if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') ctx.fail(node, path, 'expected a non-empty string');
  return (node as { value: string }).value;
}

function strList(ctx: Ctx, node: YamlNode | null, path: string): string[] {
  if (!isSeq(node) || node.items.length === 0) ctx.fail(node, path, 'expected a non-empty list');
  return (node as { items: unknown[] }).items.map((n, i) => str(ctx, n as YamlNode, `${path}[${i}]`));
}

function positive(ctx: Ctx, node: YamlNode | null, path: string, min = 1): number {
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || node.value < min) ctx.fail(node, path, `expected an integer of at least ${min}`);
  return (node as { value: number }).value;
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** `300`, `90s`, `5m`, `1h`, `1d` → seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  return m === null ? undefined : Number(m[1]) * UNITS[m[2] ?? 's']!;
}

function duration(ctx: Ctx, node: YamlNode | null, path: string): number {
  const v = isScalar(node) ? parseDuration(String(node.value)) : undefined;
  if (v === undefined) ctx.fail(node, path, 'expected a duration such as 300, 90s, 5m, 1h or 1d');
  return v!;
}

const SIZES: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

function size(ctx: Ctx, node: YamlNode | null, path: string): number {
  const m = isScalar(node) ? /^([0-9]+)\s*([a-z]*)$/i.exec(String(node.value).trim()) : null;
  const unit = m === null ? undefined : SIZES[m[2]!.toLowerCase()];
  if (m === null || unit === undefined) ctx.fail(node, path, 'expected a size such as 16384, 16 KiB, 512 MiB or 4 GiB');
  return Number(m![1]) * unit!;
}

function localPath(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/** A URL stays as written; a path (`./mirror`, `/srv/mirror`) is made absolute. */
function urlOrPath(base: string, u: string): string {
  return /^[a-z]+:/.test(u) ? u.replace(/\/+$/, '') : localPath(base, u);
}

export function parseServerConfig(text: string, file: string, baseDir: string): ServerConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.pos?.[0] === undefined ? undefined : lines.linePos(e.pos[0]).line;
    throw new StrataError('CONFIG_INVALID', `${file}${line === undefined ? '' : `:${line}`}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const ctx = new Ctx(file, lines);
  const config = defaultServerConfig();
  config.file = file;
  const root = doc.contents as YamlNode | null;
  if (root === null) return config;
  const f = fields(ctx, root, '', TOP);
  const get = (k: string) => f.get(k) ?? null;
  if (f.has('listen')) config.listen = checkListen(str(ctx, get('listen'), 'listen'), (why) => ctx.fail(get('listen'), 'listen', why));
  if (f.has('store')) {
    const store = str(ctx, get('store'), 'store');
    config.store = store.startsWith('s3://') ? store : localPath(baseDir, store);
  }
  if (f.has('s3')) {
    const s3 = fields(ctx, get('s3'), 's3', ['endpoint', 'region', 'redirect']);
    config.s3 = { redirect: false };
    if (s3.has('endpoint')) config.s3.endpoint = str(ctx, s3.get('endpoint')!, 's3.endpoint');
    if (s3.has('region')) config.s3.region = str(ctx, s3.get('region')!, 's3.region');
    if (s3.has('redirect')) {
      const r = s3.get('redirect')!;
      if (!isScalar(r) || typeof r.value !== 'boolean') ctx.fail(r, 's3.redirect', 'expected true or false');
      config.s3.redirect = (r as { value: boolean }).value;
    }
  }
  if (f.has('cache-dir')) config.cacheDir = localPath(baseDir, str(ctx, get('cache-dir'), 'cache-dir'));
  if (f.has('source')) {
    const s = fields(ctx, get('source'), 'source', SOURCE);
    const src: ServerSource = {};
    if (s.has('mirror')) src.mirror = urlOrPath(baseDir, str(ctx, s.get('mirror')!, 'source.mirror'));
    if (s.has('suites')) src.suites = strList(ctx, s.get('suites')!, 'source.suites');
    if (s.has('components')) src.components = strList(ctx, s.get('components')!, 'source.components');
    if (s.has('keyring')) src.keyring = localPath(baseDir, str(ctx, s.get('keyring')!, 'source.keyring'));
    if (s.has('fallbacks')) {
      const node = s.get('fallbacks')!;
      if (!isSeq(node)) ctx.fail(node, 'source.fallbacks', 'expected a list');
      src.fallbacks = (node as { items: YamlNode[] }).items.map((n, i) => {
        const p = `source.fallbacks[${i}]`;
        if (isScalar(n)) return { url: urlOrPath(baseDir, str(ctx, n, p)), layout: 'pool' as const };
        const fb = fields(ctx, n, p, ['url', 'layout']);
        const layout = fb.has('layout') ? str(ctx, fb.get('layout')!, `${p}.layout`) : 'pool';
        if (layout !== 'pool' && layout !== 'flat') ctx.fail(fb.get('layout')!, `${p}.layout`, 'expected pool or flat');
        return { url: urlOrPath(baseDir, str(ctx, fb.get('url') ?? null, `${p}.url`)), layout: layout as 'pool' | 'flat' };
      });
    }
    if (src.mirror !== undefined && src.suites === undefined) ctx.fail(get('source'), 'source.suites', 'with source.mirror, name the suites too');
    config.source = src;
  }
  if (f.has('architectures')) {
    const node = get('architectures');
    config.architectures = strList(ctx, node, 'architectures');
    config.architectures.forEach((a, i) => {
      if (!NAME_ARCHITECTURES.includes(a)) ctx.fail((node as { items: YamlNode[] }).items[i]!, `architectures[${i}]`, `unknown architecture ${JSON.stringify(a)}; known: ${NAME_ARCHITECTURES.join(', ')}`);
    });
    if (new Set(config.architectures).size !== config.architectures.length) ctx.fail(node, 'architectures', 'lists an architecture twice');
  }
  if (f.has('profile')) {
    const p = str(ctx, get('profile'), 'profile');
    if (p !== 'slim' && p !== 'full') ctx.fail(get('profile'), 'profile', 'expected slim or full');
    config.profile = p as 'slim' | 'full';
  }
  if (f.has('budget')) {
    config.budget = positive(ctx, get('budget'), 'budget');
    if (config.budget > 120) ctx.fail(get('budget'), 'budget', 'must be at most 120 (the spec\'s layers.budget range; runtimes cap an image near 125 layers)');
  }
  if (f.has('refresh')) config.refreshSeconds = duration(ctx, get('refresh'), 'refresh');
  if (f.has('specs')) {
    const node = get('specs');
    if (!isMap(node)) ctx.fail(node, 'specs', 'expected a mapping of name: spec file');
    for (const pair of (node as YAMLMap).items) {
      const name = str(ctx, pair.key as YamlNode, 'specs');
      if (!SPEC_NAME.test(name)) ctx.fail(pair.key as YamlNode, `specs.${name}`, 'a spec name is lower-case letters and digits joined by ".", "_" or "-" (it becomes the image name spec/NAME)');
      config.specs[name] = localPath(baseDir, str(ctx, pair.value as YamlNode, `specs.${name}`));
    }
  }
  if (f.has('limits')) {
    const l = fields(ctx, get('limits'), 'limits', LIMITS);
    const lim = config.limits;
    if (l.has('packages')) lim.packages = positive(ctx, l.get('packages')!, 'limits.packages');
    if (l.has('closure-packages')) lim.closurePackages = positive(ctx, l.get('closure-packages')!, 'limits.closure-packages');
    if (l.has('closure-size')) lim.closureBytes = size(ctx, l.get('closure-size')!, 'limits.closure-size');
    if (l.has('build-timeout')) lim.buildTimeoutMs = duration(ctx, l.get('build-timeout')!, 'limits.build-timeout') * 1000;
    if (l.has('builds')) lim.builds = positive(ctx, l.get('builds')!, 'limits.builds');
    if (l.has('queue')) lim.queue = positive(ctx, l.get('queue')!, 'limits.queue', 0);
    if (l.has('header-size')) lim.headerBytes = size(ctx, l.get('header-size')!, 'limits.header-size');
    if (l.has('body-size')) lim.bodyBytes = size(ctx, l.get('body-size')!, 'limits.body-size');
    if (lim.headerBytes < 1024) ctx.fail(l.get('header-size')!, 'limits.header-size', 'must be at least 1 KiB (registry clients send a few hundred bytes of headers)');
  }
  return config;
}

/** `host:port` (IPv6 in brackets); returns it unchanged, or calls fail. */
export function checkListen(text: string, fail: (why: string) => never): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(text);
  if (m === null || Number(m[2]) > 65535) fail(`${JSON.stringify(text)} is not host:port (such as 127.0.0.1:5000 or [::1]:5000)`);
  return text;
}

export function splitListen(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}
