// Owns the server's metrics and their Prometheus text exposition (format 0.0.4): counters
// and gauges with labels, and the request-duration histogram. Plain data in memory; the
// registry and the HTTP layer count, `/metrics` renders.

type Labels = Record<string, string>;

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const esc = (v: string) => (/[\\\n"]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v);
  return `{${keys.map((k) => `${k}="${esc(labels[k]!)}"`).join(',')}}`;
}

/** One series' value; callers on a hot path keep the cell and add to it directly. */
export interface Cell {
  value: number;
}

/** One histogram series. */
export interface HistogramCell {
  labels: string;
  buckets: number[];
  sum: number;
  count: number;
}

interface Family {
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  series: Map<string, Cell>;
}

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly histograms = new Map<string, HistogramCell>();
  /** Gauges computed when rendered (builds running, snapshot held). */
  private readonly gauges: Array<() => Array<{ name: string; help: string; labels: Labels; value: number }>> = [];

  private family(name: string, help: string, type: Family['type']): Family {
    let f = this.families.get(name);
    if (f === undefined) {
      f = { help, type, series: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  /** The cell of a counter series (created at 0): `cell.value += n` counts. */
  counter(name: string, help: string, labels: Labels | string = {}): Cell {
    const s = this.family(name, help, 'counter').series;
    const key = typeof labels === 'string' ? labels : labelText(labels);
    let cell = s.get(key);
    if (cell === undefined) {
      cell = { value: 0 };
      s.set(key, cell);
    }
    return cell;
  }

  inc(name: string, help: string, labels: Labels | string = {}, by = 1): void {
    this.counter(name, help, labels).value += by;
  }

  /** The cell of a histogram series, for observeIn. */
  histogram(name: string, help: string, labels: Labels | string): HistogramCell {
    this.family(name, help, 'histogram');
    const text = typeof labels === 'string' ? labels : labelText(labels);
    const key = `${name}${text}`;
    let h = this.histograms.get(key);
    if (h === undefined) {
      h = { labels: text, buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.histograms.set(key, h);
    }
    return h;
  }

  /** `labels` may be given as labelText(labels), for callers on a hot path that reuse it. */
  observe(name: string, help: string, labels: Labels | string, seconds: number): void {
    Metrics.observeIn(this.histogram(name, help, labels), seconds);
  }

  static observeIn(h: HistogramCell, seconds: number): void {
    // Counted in the first bucket that holds it; render() accumulates (Prometheus buckets are cumulative).
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    if (i < DURATION_BUCKETS.length) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  gauge(read: () => Array<{ name: string; help: string; labels: Labels; value: number }>): void {
    this.gauges.push(read);
  }

  /** The value of one counter series (tests and the home page). */
  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.series.get(labelText(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    const computed = this.gauges.flatMap((read) => read());
    for (const g of computed) this.families.get(g.name)?.series.clear();
    {
      for (const g of computed) {
        const f = this.family(g.name, g.help, 'gauge');
        f.series.set(labelText(g.labels), { value: g.value });
      }
    }
    for (const name of [...this.families.keys()].sort()) {
      const f = this.families.get(name)!;
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.type === 'histogram') {
        for (const [key, h] of [...this.histograms].filter(([k]) => k === name || k.startsWith(`${name}{`)).sort(([a], [b]) => (a < b ? -1 : 1))) {
          void key;
          const inner = h.labels === '' ? '' : h.labels.slice(1, -1);
          const withLe = (le: string) => `{${inner === '' ? '' : `${inner},`}le="${le}"}`;
          let cumulative = 0;
          DURATION_BUCKETS.forEach((b, i) => lines.push(`${name}_bucket${withLe(String(b))} ${(cumulative += h.buckets[i]!)}`));
          lines.push(`${name}_bucket${withLe('+Inf')} ${h.count}`, `${name}_sum${h.labels} ${h.sum}`, `${name}_count${h.labels} ${h.count}`);
        }
        continue;
      }
      for (const [labels, v] of [...f.series].sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`${name}${labels} ${v.value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
