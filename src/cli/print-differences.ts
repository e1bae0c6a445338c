// Owns printing explained differences (verify's and diff's) as indented text lines:
// cause, where, field, the two values, the explanation and the attributed input.
import type { Difference } from '../verify/difference.js';
import type { Output } from './output.js';

export function printDifferences(out: Output, diffs: readonly Difference[], limit: number): void {
  for (const d of diffs.slice(0, limit)) {
    const where = `${d.platform ? `[${d.platform}] ` : ''}${d.where}`;
    const values = d.a !== undefined || d.b !== undefined ? `: ${d.a ?? '—'} → ${d.b ?? '—'}` : '';
    out.line(`  ${out.yellow(`[${d.cause}]`)} ${where}${d.field ? ` ${out.bold(d.field)}` : ''}${values}`);
    out.line(`      ${d.explanation}`);
    if (d.attribution) out.line(`      ${out.dim('cause:')} ${d.attribution}`);
  }
  if (diffs.length > limit) out.line(`  … and ${diffs.length - limit} more (--json or --html show all)`);
}
