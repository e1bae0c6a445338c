// Owns the page at `/`: how to use this registry (pull commands for this host, the name
// grammar, the meta-components, the named specs, the tags) and the images built most
// recently. Plain text by default; HTML when the client accepts it.
import { STRATA_VERSION } from '../version.js';
import { NONROOT, SHELL_PACKAGES } from './image-name.js';
import type { Registry } from './registry.js';

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function homePage(registry: Registry, host: string, html: boolean): string {
  const { config } = registry;
  const snapshot = registry.snapshots.current?.record;
  const named = Object.keys(config.specs).sort();
  const lines = [
    `strata ${STRATA_VERSION} — an OCI registry that builds Debian images on demand`,
    '',
    'The repository name lists the packages; the image is built on the first pull, reproducibly,',
    'from verified Debian packages, and served from the store afterwards:',
    '',
    `  podman pull --tls-verify=false ${host}/redis-server`,
    `  podman run --rm ${host}/shell/curl curl --version`,
    `  skopeo inspect --tls-verify=false docker://${host}/python3/python3-requests`,
    `  strata run ${host}/shell/jq --insecure -- jq --version     # no engine, no root`,
    '',
    'Names',
    '  - Packages are a set: python3/python3-requests and python3-requests/python3 are one image.',
    '  - OCI names cannot hold "+": write it "_p" (libstdc++6 → libstdc_p_p6, g++ → g_p_p);',
    '    "_d" and "_m" stand for "." and "-" where OCI forbids them as written.',
    `  - shell adds ${SHELL_PACKAGES.join(' and ')} and runs /bin/bash by default.`,
    `  - nonroot runs the image as ${NONROOT.name} (uid ${NONROOT.uid}, gid ${NONROOT.gid}, home ${NONROOT.home}).`,
    `  - An architecture first selects it: ${config.architectures.map((a) => `${a}/…`).join(', ')} (default ${config.architectures[0]}).`,
    named.length > 0 ? `  - Named specs of this server: ${named.map((n) => `spec/${n}`).join(', ')}.` : '  - spec/NAME builds a spec named in the server config (none here).',
    `  - At most ${config.limits.packages} packages per name, ${config.limits.closurePackages} in the closure.`,
    '',
    'Tags',
    `  - latest: the archive snapshot held now${snapshot ? ` (${snapshot.tag})` : ''}; refreshed every ${config.refreshSeconds > 0 ? `${config.refreshSeconds} s` : 'never'}.`,
    '  - Each snapshot held stays a tag (GET /v2/NAME/tags/list), and each digest stays pullable.',
    '',
    'Rebuild any image yourself, bit for bit:',
    `  curl -o image.yaml 'http://${host}/strata/spec?name=NAME&tag=TAG'`,
    `  curl -o image.lock.json 'http://${host}/strata/lock?name=NAME&tag=TAG'`,
    '  strata build image.yaml',
    '',
    'Metrics: /metrics (Prometheus).  Pushes are not accepted.',
    '',
    'Recently built',
  ];
  const recent = [...registry.recent].reverse().slice(0, 20);
  if (recent.length === 0) lines.push('  (nothing yet)');
  for (const r of recent) lines.push(`  ${r.name}:${r.snapshot}  ${r.root.digest}  ${r.packages} packages, ${r.layers} layers, ${mb(r.bytes)}, built in ${(r.buildMs / 1000).toFixed(1)} s at ${r.builtAt}`);
  const text = `${lines.join('\n')}\n`;
  if (!html) return text;
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>strata registry</title></head>\n<body><pre>${escapeHtml(text)}</pre></body></html>\n`;
}
