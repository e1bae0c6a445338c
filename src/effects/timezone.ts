// Owns the time zone that tzdata's postinst would configure: /etc/localtime →
// /usr/share/zoneinfo/Etc/UTC and /etc/timezone = Etc/UTC, when the image has tzdata's files.
import { file, symlink, type EffectContext, type EffectResult } from './types.js';

export const TIME_ZONE = 'Etc/UTC';

export function timezone(ctx: EffectContext): EffectResult {
  const zone = ctx.paths.get(`usr/share/zoneinfo/${TIME_ZONE}`);
  if (zone === undefined) return { entries: [], warnings: [], from: [] };
  return { entries: [symlink('etc/localtime', `/usr/share/zoneinfo/${TIME_ZONE}`), file('etc/timezone', `${TIME_ZONE}\n`)], warnings: [], from: [zone.package] };
}
