// Owns content negotiation for manifests (distribution-spec "Pulling manifests"): the
// client's Accept header(s) against the forms the registry holds for an image. The client's
// q-values rank first; among equal ones the image's own form wins, then the order of
// PREFERENCE. With no Accept header, or none that matches, the image's own form is served
// (what registries do for old clients).
import { MEDIA } from '../image/oci.js';

/** Our order among forms a client ranks equally: the image's identity first. */
const PREFERENCE = [MEDIA.manifest, MEDIA.index, MEDIA.dockerManifest, MEDIA.dockerManifestList];

export interface Accepted {
  type: string;
  q: number;
}

/** Parses Accept header values (several headers, comma-separated lists, q parameters). */
export function parseAccept(values: string | string[] | undefined): Accepted[] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  const out: Accepted[] = [];
  for (const v of list) {
    for (const item of v.split(',')) {
      const [type, ...params] = item.split(';').map((x) => x.trim());
      if (type === undefined || type === '') continue;
      let q = 1;
      for (const p of params) {
        const m = /^q=([0-9.]+)$/i.exec(p);
        if (m !== null) q = Math.min(1, Math.max(0, Number(m[1]) || 0));
      }
      out.push({ type: type.toLowerCase(), q });
    }
  }
  return out;
}

/** The media type to serve among `available` (which starts with the image's own form). */
export function chooseMediaType(accept: Accepted[], available: string[]): string {
  const own = available[0]!;
  const qOf = (t: string) => {
    let best = -1;
    for (const a of accept) {
      if (a.type === t || a.type === '*/*' || a.type === 'application/*') best = Math.max(best, a.type === t ? a.q : Math.min(a.q, 0.001));
    }
    return best;
  };
  const ranked = available
    .map((t) => ({ t, q: qOf(t), own: t === own ? 0 : 1, pref: PREFERENCE.indexOf(t as (typeof PREFERENCE)[number]) }))
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.own - b.own || a.pref - b.pref);
  return ranked[0]?.t ?? own;
}
