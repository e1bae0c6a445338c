// Owns the distribution identity that scanners read: /usr/lib/os-release (Syft, Grype),
// /etc/os-release → ../usr/lib/os-release, and /etc/debian_version (Trivy). base-files ships
// them; it is Essential, so a closure has it only when asked for. When no package of the image
// ships them and the lock's main suite is Debian's, this writes them from the lock's own
// record of the suite (codename and point release from the signed InRelease), so scanners
// still recognise the packages. Other origins get a warning instead of a guess.
import { file, symlink, type EffectContext, type EffectResult } from './types.js';

export interface ReleaseIdentity {
  origin: string;
  codename: string;
  /** The InRelease Version, such as 12.15. */
  version: string;
}

export function osRelease(ctx: EffectContext, release: ReleaseIdentity | undefined): EffectResult {
  const ships = (p: string) => ctx.paths.has(p);
  if (ships('usr/lib/os-release') || ships('etc/os-release')) return { entries: [], warnings: [], from: [] };
  if (release === undefined || release.origin !== 'Debian' || !/^[0-9]+(\.[0-9]+)*$/.test(release.version)) {
    return { entries: [], from: [], warnings: ['no package ships /usr/lib/os-release and the suite is not Debian\'s: scanners will not recognise the distribution (add base-files to packages:)'] };
  }
  const major = release.version.split('.')[0]!;
  const text = [
    `PRETTY_NAME="Debian GNU/Linux ${major} (${release.codename})"`,
    'NAME="Debian GNU/Linux"',
    `VERSION_ID="${major}"`,
    `VERSION="${major} (${release.codename})"`,
    `VERSION_CODENAME=${release.codename}`,
    'ID=debian',
    'HOME_URL="https://www.debian.org/"',
    'SUPPORT_URL="https://www.debian.org/support"',
    'BUG_REPORT_URL="https://bugs.debian.org/"',
    '',
  ].join('\n');
  const entries = [file('usr/lib/os-release', text), symlink('etc/os-release', '../usr/lib/os-release')];
  if (!ships('etc/debian_version')) entries.push(file('etc/debian_version', `${release.version}\n`));
  // Made from the suite's Release fields, not from a package.
  return { entries, warnings: [], from: [] };
}
