// Owns choosing where packages come from: the spec's source.mirror, or else the host's apt
// sources, each suite with its components and keyring, plus the fallback chain for .debs.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { StrataError } from '../errors.js';
import { defaultTrustedKeyrings, readHostAptSources, type AptSource } from '../debian/apt-sources.js';
import type { Keyring } from '../debian/signature.js';
import type { Fallback, LoadedSpec } from '../spec/spec.js';

export interface ConfiguredSuite {
  uri: string;
  suite: string;
  components: string[];
  keyring: Keyring;
  /** Key fingerprints a valid signature must come from (apt's Signed-By: fingerprint form). */
  requireFingerprints?: string[];
  /** Where the suite was configured, for messages. */
  origin: string;
}

export interface SourceConfig {
  suites: ConfiguredSuite[];
  fallbacks: Fallback[];
}

async function readKeyringFiles(paths: string[], what: string): Promise<Keyring> {
  const blobs: Uint8Array[] = [];
  for (const path of paths) {
    try {
      blobs.push(await readFile(path));
    } catch (e) {
      throw new StrataError('KEYRING_NOT_FOUND', `${what}: cannot read keyring ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
        cause: e,
        hint: 'install the archive keyring package (debian-archive-keyring for Debian) or set source.keyring in the spec',
      });
    }
  }
  return { sources: paths, blobs };
}

async function keyringFor(entry: AptSource): Promise<{ keyring: Keyring; requireFingerprints?: string[] }> {
  const signed = entry.signedBy;
  if (signed === undefined || signed.kind === 'fingerprints') {
    const paths = await defaultTrustedKeyrings();
    if (paths.length === 0) {
      throw new StrataError('KEYRING_NOT_FOUND', `${entry.origin}: no Signed-By and no keyring in apt's trusted.gpg.d`, {
        hint: 'add Signed-By to the apt source or set source.keyring in the spec',
      });
    }
    const keyring = await readKeyringFiles(paths, entry.origin);
    return signed === undefined ? { keyring } : { keyring, requireFingerprints: signed.fingerprints };
  }
  if (signed.kind === 'inline') return { keyring: { sources: [`${entry.origin} (inline Signed-By)`], blobs: [Buffer.from(signed.armored)] } };
  return { keyring: await readKeyringFiles(signed.paths, entry.origin) };
}

export async function configureSources(loaded: LoadedSpec): Promise<SourceConfig> {
  const { spec } = loaded;
  const specDir = dirname(loaded.path);
  const explicitKeyring = spec.source.keyring === undefined ? undefined : await readKeyringFiles([resolve(specDir, spec.source.keyring)], 'source.keyring');
  const fallbacks = spec.source.fallbacks.map((f) => (f.url.startsWith('./') || f.url.startsWith('../') ? { ...f, url: resolve(specDir, f.url) } : f));

  if (spec.source.mirror !== undefined) {
    const mirror = spec.source.mirror.startsWith('./') || spec.source.mirror.startsWith('../') ? resolve(specDir, spec.source.mirror) : spec.source.mirror;
    let keyring = explicitKeyring;
    if (keyring === undefined) {
      const host = await readHostAptSources().catch(() => []);
      const paths = new Set<string>();
      for (const h of host) if (h.signedBy?.kind === 'files') h.signedBy.paths.forEach((p) => paths.add(p));
      for (const p of await defaultTrustedKeyrings()) paths.add(p);
      if (paths.size === 0) {
        throw new StrataError('KEYRING_NOT_FOUND', 'source.mirror is set but the spec has no source.keyring and this host has no apt keyring', {
          hint: 'set source.keyring to the archive\'s public keyring (for Debian: debian-archive-keyring.gpg)',
        });
      }
      keyring = await readKeyringFiles([...paths].sort(), 'host apt keyrings');
    }
    return {
      suites: spec.source.suites!.map((suite) => ({ uri: mirror, suite, components: spec.source.components ?? ['main'], keyring: keyring!, origin: 'source.mirror' })),
      fallbacks,
    };
  }

  const host = await readHostAptSources();
  if (host.length === 0) {
    throw new StrataError('APT_SOURCES_NOT_FOUND', 'this host has no apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.sources)', {
      hint: 'set source.mirror, source.suites and source.keyring in the spec',
    });
  }
  const wanted = spec.source.suites ?? [...new Set(host.map((h) => h.suite))];
  const suites: ConfiguredSuite[] = [];
  for (const suite of wanted) {
    const entry = host.find((h) => h.suite === suite);
    if (entry === undefined) {
      throw new StrataError('APT_SOURCES_NOT_FOUND', `suite ${suite} is not in this host's apt sources (they have ${[...new Set(host.map((h) => h.suite))].join(', ')})`, {
        hint: 'add the suite to the host\'s apt sources, or set source.mirror (with source.keyring) in the spec',
      });
    }
    const { keyring, requireFingerprints } = explicitKeyring === undefined ? await keyringFor(entry) : { keyring: explicitKeyring, requireFingerprints: undefined };
    const configured: ConfiguredSuite = {
      uri: entry.uri,
      suite,
      components: spec.source.components ?? (entry.components.length > 0 ? entry.components : ['main']),
      keyring,
      origin: entry.origin,
    };
    if (requireFingerprints !== undefined) configured.requireFingerprints = requireFingerprints;
    suites.push(configured);
  }
  return { suites, fallbacks };
}
