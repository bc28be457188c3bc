// A small metrics registry in the Prometheus text exposition format (version 0.0.4): counters,
// gauges and histograms with labels, plus collectors that refresh gauges at scrape time (counts
// read from the database). Web APIs only, so the edge, the signer and the validator share it on
// every runtime. Values live in memory: per process, or per isolate on Workers.

import type { StatementCounts } from './sql-statements.ts';

export type Labels = Record<string, string>;

/** Prometheus' Content-Type for the text format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Seconds: 5 ms to 60 s, for request, relay and issuance latencies. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Most label sets one metric keeps; past it, new ones are folded into `overflow` (bounded memory). */
const MAX_SERIES = 500;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function labelText(names: readonly string[], labels: Labels, extra?: [string, string]): string {
  const parts = names.map((n) => `${n}="${escapeLabel(labels[n] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric<S> {
  protected readonly series = new Map<string, { labels: Labels; state: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name ${name}`);
  }
  protected abstract fresh(): S;
  protected state(labels: Labels): S {
    let key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let s = this.series.get(key);
    if (!s && this.series.size >= MAX_SERIES) {
      labels = Object.fromEntries(this.labelNames.map((n) => [n, 'overflow']));
      key = this.labelNames.map(() => 'overflow').join('\u0000');
      s = this.series.get(key);
    }
    if (!s) {
      s = { labels: { ...labels }, state: this.fresh() };
      this.series.set(key, s);
    }
    return s.state;
  }
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  abstract lines(): string[];
  render(): string {
    return [
      `# HELP ${this.name} ${escapeHelp(this.help)}`,
      `# TYPE ${this.name} ${this.type}`,
      ...this.lines(),
    ]
      .join('\n')
      .concat('\n');
  }
}

export class Counter extends Metric<{ v: number }> {
  readonly type = 'counter';
  protected fresh() {
    return { v: 0 };
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`counter ${this.name} cannot go down`);
    this.state(labels).v += by;
  }
  get(labels: Labels = {}): number {
    return this.state(labels).v;
  }
  lines(): string[] {
    return [...this.series.values()].map(
      (s) => `${this.name}${labelText(this.labelNames, s.labels)} ${formatValue(s.state.v)}`,
    );
  }
}

export class Gauge extends Metric<{ v: number }> {
  readonly type = 'gauge';
  protected fresh() {
    return { v: 0 };
  }
  set(labels: Labels, v: number): void {
    this.state(labels).v = v;
  }
  /** forgets every label set (a collector sets the current ones again) */
  reset(): void {
    this.series.clear();
  }
  lines(): string[] {
    return [...this.series.values()].map(
      (s) => `${this.name}${labelText(this.labelNames, s.labels)} ${formatValue(s.state.v)}`,
    );
  }
}

export class Histogram extends Metric<{ counts: number[]; sum: number; count: number }> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    if (labelNames.includes('le')) throw new Error('"le" is reserved for histogram buckets');
  }
  protected fresh() {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  observe(labels: Labels, value: number): void {
    const s = this.state(labels);
    s.sum += value;
    s.count += 1;
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] ?? 0)) s.counts[i]! += 1;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const { labels, state } of this.series.values()) {
      this.buckets.forEach((b, i) => {
        out.push(
          `${this.name}_bucket${labelText(this.labelNames, labels, ['le', formatValue(b)])} ${state.counts[i]}`,
        );
      });
      out.push(`${this.name}_bucket${labelText(this.labelNames, labels, ['le', '+Inf'])} ${state.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, labels)} ${formatValue(state.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, labels)} ${state.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric<unknown>>();
  private readonly collectors: (() => Promise<void>)[] = [];

  private add<M extends Metric<unknown>>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets = LATENCY_BUCKETS,
  ): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }
  /** runs before every render; a failing collector is reported in edgeca_collector_errors, not thrown */
  collect(fn: () => Promise<void>): void {
    this.collectors.push(fn);
  }
  async render(): Promise<string> {
    let failed = 0;
    for (const fn of this.collectors) {
      try {
        await fn();
      } catch {
        failed++;
      }
    }
    const body = [...this.metrics.values()].map((m) => m.render()).join('');
    return this.collectors.length
      ? `${body}# HELP edgeca_collector_errors Scrape-time collectors that failed during this scrape.\n# TYPE edgeca_collector_errors gauge\nedgeca_collector_errors ${failed}\n`
      : body;
  }
}

/** Seconds elapsed since `startMs` (performance.now() time). */
export const secondsSince = (startMs: number) => (performance.now() - startMs) / 1000;

/**
 * A counter `name`{kind} showing the totals of `counts` (shared/sql-statements.ts) at every scrape:
 * the storage layer counts without knowing about metrics. The statements a scrape's own collectors
 * run show in the next scrape.
 */
export function exportStatementCounts(registry: Registry, name: string, counts: StatementCounts): void {
  const counter = registry.counter(name, 'SQL statements run by this process, by verb and table.', ['kind']);
  registry.collect(async () => {
    for (const [kind, n] of counts.snapshot()) {
      const labels = { kind };
      const seen = counter.get(labels);
      if (n > seen) counter.inc(labels, n - seen);
    }
  });
}
