// Owns the one-page HTML report of `strata verify --html FILE`: the verdict, the rebuilds,
// then for each comparison a table per level (index, manifest, config, DiffIDs, blobs) with
// differing rows highlighted, and the explained differences. Self-contained (inline CSS, no
// script, no external resource), so it can be archived with a CI run and opened anywhere.
import type { ImageComparison, LevelName, LevelRow } from './compare-images.js';
import { isoTime, type Difference } from './difference.js';
import { DESCRIPTIONS } from './perturbations.js';
import type { VerifyReport } from './verify.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1d232a;background:#fff}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d8dee4;padding-bottom:.25rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
.verdict{display:inline-block;padding:.35rem .8rem;border-radius:6px;font-weight:600;color:#fff}
.ok{background:#1a7f37}.bad{background:#cf222e}
table{border-collapse:collapse;width:100%;margin:.3rem 0 1rem;font-size:13px}
th,td{border:1px solid #d8dee4;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.mono,span.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
tr.differs td{background:#ffebe9}tr.differs td.state{color:#cf222e;font-weight:600}
tr.same td.state{color:#1a7f37}tr.na td.state{color:#6e7781}
.cause{display:inline-block;padding:0 .4rem;border-radius:10px;background:#eaeef2;font-size:12px;font-weight:600}
.cause-integrity,.cause-content{background:#ffd8d3}.cause-timestamp{background:#fff1c2}.cause-ordering{background:#ddf4ff}
.cause-ownership{background:#fbefff}.cause-compressor,.cause-tool{background:#e6e6fa}.cause-package{background:#dafbe1}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.8rem 0}dt{color:#57606a}dd{margin:0}
.note{color:#57606a}
`;

const LEVELS: Array<[LevelName, string]> = [
  ['index', 'Index'],
  ['manifest', 'Manifest'],
  ['config', 'Config'],
  ['diffid', 'Layer DiffIDs (uncompressed tar)'],
  ['blob', 'Layer blobs (as stored)'],
];

function state(row: LevelRow): { cls: string; text: string } {
  if (row.same === null) return { cls: 'na', text: 'n/a' };
  return row.same ? { cls: 'same', text: '✓ same' } : { cls: 'differs', text: '✗ differs' };
}

function levelTables(cmp: ImageComparison): string {
  const out: string[] = [];
  for (const [level, title] of LEVELS) {
    const rows = cmp.levels.filter((r) => r.level === level);
    if (rows.length === 0) continue;
    const platforms = rows.some((r) => r.platform !== undefined);
    out.push(`<h3>${title}</h3><table><tr><th>${level === 'diffid' || level === 'blob' ? 'layer' : 'document'}</th>${platforms ? '<th>platform</th>' : ''}<th>${escapeHtml(cmp.a.label)}</th><th>${escapeHtml(cmp.b.label)}</th><th>result</th></tr>`);
    for (const r of rows) {
      const s = state(r);
      out.push(`<tr class="${s.cls}"><td>${escapeHtml(r.name)}</td>${platforms ? `<td>${escapeHtml(r.platform ?? '')}</td>` : ''}<td class="mono">${escapeHtml(r.a ?? '—')}</td><td class="mono">${escapeHtml(r.b ?? '—')}</td><td class="state">${s.text}${r.note ? `<br><span class="note">${escapeHtml(r.note)}</span>` : ''}</td></tr>`);
    }
    out.push('</table>');
  }
  return out.join('\n');
}

export function differencesTable(diffs: readonly Difference[]): string {
  if (diffs.length === 0) return '<p>No differences.</p>';
  const rows = diffs.map(
    (d) =>
      `<tr class="differs"><td><span class="cause cause-${d.cause}">${d.cause}</span></td><td class="mono">${escapeHtml(`${d.platform ? `[${d.platform}] ` : ''}${d.where}`)}</td><td>${escapeHtml(d.field ?? '')}</td><td class="mono">${escapeHtml(d.a ?? '')}</td><td class="mono">${escapeHtml(d.b ?? '')}</td><td>${escapeHtml(d.explanation)}${d.attribution ? `<br><b>cause:</b> ${escapeHtml(d.attribution)}` : ''}</td></tr>`,
  );
  return `<table><tr><th>cause</th><th>where</th><th>field</th><th>first</th><th>second</th><th>explanation</th></tr>${rows.join('\n')}</table>`;
}

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>\n${body}\n</body></html>\n`;
}

export function verifyReportHtml(r: VerifyReport, generatedAt?: number): string {
  const body: string[] = [];
  body.push(`<h1>strata verify: ${escapeHtml(r.spec.replace(/^.*\//, ''))}</h1>`);
  body.push(`<p><span class="verdict ${r.reproducible ? 'ok' : 'bad'}">${r.reproducible ? 'reproducible' : 'NOT reproducible'}</span></p>`);
  body.push('<dl>');
  const fact = (k: string, v: string, mono = false) => body.push(`<dt>${k}</dt><dd${mono ? ' class="mono"' : ''}>${mono ? `<span class="mono">${escapeHtml(v)}</span>` : escapeHtml(v)}</dd>`);
  fact('spec', r.spec);
  fact('lockfile', `${r.lockfile} (${r.lockDigest})`);
  fact('image digest (control build)', r.digest, true);
  fact('strata', r.strata);
  fact('perturbations', r.vary.length > 0 ? r.vary.map((p) => DESCRIPTIONS[p]).join('; ') : 'none');
  if (r.against !== undefined) fact('checked image', `${r.against.label}: ${r.against.digest}`);
  if (r.culprits !== undefined) fact('perturbations that alone reproduce a difference', r.culprits.join(', ') || 'none (an interaction)');
  fact('time', `${(r.durationMs / 1000).toFixed(1)} s${generatedAt !== undefined ? `, ${isoTime(generatedAt)}` : ''}`);
  for (const n of r.notes) fact('note', n);
  body.push('</dl>');
  body.push('<h2>Builds</h2><table><tr><th>build</th><th>perturbations</th><th>digest</th><th>time</th><th>result</th></tr>');
  for (const b of [r.control, ...r.rebuilds]) {
    const ok = b === r.control ? undefined : b.identical;
    const cls = ok === undefined ? 'na' : ok ? 'same' : 'differs';
    const text = b === r.control ? 'reference' : b.error ? `failed: ${b.error.message}` : ok ? '✓ identical' : '✗ differs';
    const vary = b.vary.map((p) => (p === 'time' && b.clock ? `time (${b.clock})` : p === 'shuffle' && b.shuffle ? `shuffle (${b.shuffle})` : p)).join(', ') || 'none (control)';
    body.push(`<tr class="${cls}"><td>${escapeHtml(b.name)}</td><td>${escapeHtml(vary)}</td><td class="mono">${escapeHtml(b.digest ?? '—')}</td><td>${b.durationMs !== undefined ? `${(b.durationMs / 1000).toFixed(1)} s` : '—'}</td><td class="state">${escapeHtml(text)}</td></tr>`);
  }
  body.push('</table>');
  if (r.differences.length > 0) body.push('<h2>Differences, explained</h2>', differencesTable(r.differences));
  const comparisons: Array<[string, ImageComparison]> = [];
  for (const b of r.rebuilds) if (b.comparison) comparisons.push([`control vs ${b.name}`, b.comparison]);
  if (r.against) comparisons.push([`the rebuild vs ${r.against.label}`, r.against.comparison]);
  // The comparisons that differ first: they are what the reader came for.
  comparisons.sort(([, x], [, y]) => Number(x.identical) - Number(y.identical));
  for (const [title, cmp] of comparisons) body.push(`<h2>${escapeHtml(title)}: ${cmp.identical ? 'identical' : 'differs'}</h2>`, levelTables(cmp));
  return page(`strata verify: ${r.spec.replace(/^.*\//, '')}`, body.join('\n'));
}
