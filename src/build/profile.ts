// Owns the file-level part of the profiles (docs/spec.md): `slim` drops documentation, man
// and info pages, locales, lintian overrides, iconv (gconv) modules and the posix/ and right/
// copies of the time-zone database, but keeps every copyright file (licences live there, and
// compliance tools read them); `full` keeps everything.
import type { Profile } from '../spec/spec.js';

const DROPPED_TREES = ['usr/share/doc/', 'usr/share/man/', 'usr/share/info/', 'usr/share/locale/', 'usr/share/lintian/', 'usr/share/zoneinfo/posix/', 'usr/share/zoneinfo/right/'];
const GCONV = /^usr\/lib\/[^/]+\/gconv\//;
const COPYRIGHT = /^usr\/share\/doc\/[^/]+\/copyright$/;

/** Whether a (canonical, relative) path is kept in an image of this profile. */
export function keepPath(path: string, profile: Profile): boolean {
  if (profile === 'full') return true;
  if (COPYRIGHT.test(path)) return true;
  const asDir = `${path}/`;
  // A dropped tree's directories go too; the builder re-creates the parents of kept files
  // (such as usr/share/doc/<pkg>/ for its copyright).
  for (const tree of DROPPED_TREES) if (asDir.startsWith(tree)) return false;
  if (GCONV.test(path)) return false;
  return true;
}
