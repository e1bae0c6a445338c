// Owns the metadata changes maintainer scripts make to a package's own files:
// `dpkg-statoverride --add USER GROUP MODE PATH` (owner and mode) and `setcap CAPS PATH`
// (the security.capability extended attribute). Both apply in the package's layer, since
// they depend only on the package (and on the fixed IDs of the accounts they name).
import { mergeUsr, normalisePath } from '../debian/merged-usr.js';
import { encodeCapabilities } from './capabilities.js';
import { parseScript } from './script-actions.js';

export interface FileOverride {
  uid?: number;
  gid?: number;
  mode?: number;
  capability?: Buffer;
  /** The script lines that asked for it. */
  from: string[];
}

export interface OverrideProblem {
  path: string;
  why: string;
}

export function fileOverrides(
  scripts: Partial<Record<string, string>>,
  ids: { uidOf(name: string): number | undefined; gidOf(name: string): number | undefined },
): { overrides: Map<string, FileOverride>; problems: OverrideProblem[] } {
  const overrides = new Map<string, FileOverride>();
  const problems: OverrideProblem[] = [];
  const text = scripts.postinst;
  if (text === undefined) return { overrides, problems };
  for (const a of parseScript(text)) {
    if (a.kind !== 'stat-override' && a.kind !== 'capability') continue;
    const n = normalisePath(a.path);
    if (n === 'escapes' || n === 'nul' || n === '') {
      problems.push({ path: a.path, why: 'path outside the image' });
      continue;
    }
    const path = mergeUsr(n);
    const o = overrides.get(path) ?? { from: [] };
    o.from.push(a.text);
    if (a.kind === 'stat-override') {
      const uid = ids.uidOf(a.user);
      const gid = ids.gidOf(a.group);
      if (uid === undefined || gid === undefined) {
        problems.push({ path: a.path, why: `dpkg-statoverride names ${uid === undefined ? `user ${a.user}` : `group ${a.group}`}, which the image does not have` });
        continue;
      }
      o.uid = uid;
      o.gid = gid;
      o.mode = a.mode;
    } else {
      const cap = encodeCapabilities(a.caps);
      if (cap === undefined) {
        problems.push({ path: a.path, why: `cannot read capabilities ${JSON.stringify(a.caps)}` });
        continue;
      }
      o.capability = cap;
    }
    overrides.set(path, o);
  }
  return { overrides, problems };
}
