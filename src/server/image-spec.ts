// Owns the spec of an on-demand image: the exact YAML text that `strata build` would need to
// build the same image. The server locks and builds this text like any spec, and hands it out
// beside the lock (GET /strata/spec, /strata/lock), so anyone can rebuild the digest with
// `strata build` (docs/serve.md). The text is a pure function of the canonical request and
// the server's source and profile: every value is written as canonical JSON (valid YAML), so
// equal requests give equal bytes, whatever the order of the name's components.
import { canonicalJson } from '../digest/canonical-json.js';
import type { ServerConfig, ServerSource } from './config.js';
import { canonicalName, NONROOT, requestedPackages, type ImageRequest } from './image-name.js';

/** The spec's `source:` value for the server's source (empty: the host's apt sources). */
export function sourceValue(source: ServerSource): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (source.mirror !== undefined) out.mirror = source.mirror;
  if (source.suites !== undefined) out.suites = source.suites;
  if (source.components !== undefined) out.components = source.components;
  if (source.keyring !== undefined) out.keyring = source.keyring;
  if (source.fallbacks !== undefined && source.fallbacks.length > 0) out.fallbacks = source.fallbacks.map((f) => ({ url: f.url, layout: f.layout }));
  return out;
}

/** The spec text of a package-set request (not a named spec). */
export function imageSpecText(req: ImageRequest, config: Pick<ServerConfig, 'source' | 'architectures' | 'profile' | 'budget'>): string {
  const arch = req.architecture ?? config.architectures[0]!;
  const lines = [
    `# The image that strata serve builds for ${canonicalName(req, config.architectures[0]!)} (docs/serve.md).`,
    `# strata build gives the same digest from this spec and the lock the server hands out with it.`,
  ];
  const source = sourceValue(config.source);
  if (Object.keys(source).length > 0) lines.push(`source: ${canonicalJson(source)}`);
  lines.push(`architectures: ${canonicalJson([arch])}`);
  lines.push(`packages: ${canonicalJson(requestedPackages(req))}`);
  lines.push(`profile: ${canonicalJson(config.profile)}`);
  lines.push(`layers: ${canonicalJson({ budget: config.budget })}`);
  if (req.nonroot) {
    const { name, uid, gid, home } = NONROOT;
    lines.push(`accounts: ${canonicalJson({ groups: [{ name, gid }], users: [{ name, uid, gid, home }], 'run-as': name })}`);
    lines.push(`paths: ${canonicalJson([{ path: home, type: 'directory', uid, gid, mode: '0700' }])}`);
    lines.push(`workdir: ${canonicalJson(home)}`);
  }
  if (req.shell) lines.push(`cmd: ${canonicalJson(['/bin/bash'])}`);
  return `${lines.join('\n')}\n`;
}
