// Owns the CA bundle that ca-certificates' postinst builds with update-ca-certificates:
// /etc/ssl/certs/ca-certificates.crt is every enabled certificate concatenated in byte order
// of its path under /usr/share/ca-certificates, each ending with a newline; each has an
// /etc/ssl/certs/NAME.pem symlink; /etc/ca-certificates.conf lists them (a fresh install
// enables every packaged certificate). OpenSSL's hash links are not written (optional).
import { comparePathBytes } from '../debian/merged-usr.js';
import { file, symlink, type EffectContext, type EffectResult, type GeneratedEntry } from './types.js';

const ROOT = 'usr/share/ca-certificates/';

export function caCertificates(ctx: EffectContext): EffectResult {
  const certs: Array<[string, Buffer]> = [];
  const from = new Set<string>();
  for (const p of ctx.packages) {
    for (const [path, content] of p.extracted) {
      if (path.startsWith(ROOT) && path.endsWith('.crt') && ctx.paths.has(path)) {
        certs.push([path.slice(ROOT.length), content]);
        from.add(p.name);
      }
    }
  }
  if (certs.length === 0) return { entries: [], warnings: [], from: [] };
  certs.sort((a, b) => comparePathBytes(a[0], b[0]));
  const bundle = Buffer.concat(certs.flatMap(([, c]) => (c.length > 0 && c[c.length - 1] !== 0x0a ? [c, Buffer.from('\n')] : [c])));
  const entries: GeneratedEntry[] = [
    file('etc/ssl/certs/ca-certificates.crt', bundle),
    file('etc/ca-certificates.conf', `# Written by strata: every packaged certificate is enabled, as on a fresh install.\n${certs.map(([p]) => p).join('\n')}\n`),
  ];
  const names = new Set<string>();
  for (const [rel] of certs) {
    const name = `${rel.slice(rel.lastIndexOf('/') + 1).replace(/\.crt$/, '')}.pem`;
    if (names.has(name)) continue;
    names.add(name);
    entries.push(symlink(`etc/ssl/certs/${name}`, `/${ROOT}${rel}`));
  }
  return { entries, warnings: [], from: [...from].sort() };
}
