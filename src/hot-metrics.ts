// Counters and histograms for the per-statement hot path. prom-client's label children re-validate and
// re-hash their label values on every inc()/observe() (~0.3–0.5 µs each, several per statement); these keep
// plain numbers per child and hand them to the registry only when it is scraped. They implement the part of
// prom-client's metric interface a Registry reads (name, get(), reset()), so the exposition format, label
// escaping and the registry's other metrics are prom-client's own.
import type { Registry } from 'prom-client';

type Labels<L extends string> = Partial<Record<L, string | number>>;

/** What Registry#getMetricsAsString reads from a metric's get(). */
interface Exposition<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: Array<{ labels: Labels<L>; value: number; metricName?: string }>;
}

interface FamilyOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registers: readonly Registry[];
}

abstract class Family<L extends string, C> {
  readonly name: string;
  readonly help: string;
  readonly #labelNames: readonly L[];
  readonly #children = new Map<string, { labels: Labels<L>; child: C }>();

  constructor(opts: FamilyOptions<L>) {
    this.name = opts.name;
    this.help = opts.help;
    this.#labelNames = opts.labelNames;
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  /** The child of these label values (in labelNames order): look it up once and keep it. */
  labels(...values: Array<string | number>): C {
    if (values.length !== this.#labelNames.length) throw new Error(`${this.name}: expected ${this.#labelNames.length} label values, got ${values.length}`);
    const key = values.join('\u0000');
    let e = this.#children.get(key);
    if (e === undefined) {
      const labels: Labels<L> = {};
      this.#labelNames.forEach((n, i) => (labels[n] = values[i]));
      e = { labels, child: this.newChild() };
      this.#children.set(key, e);
    }
    return e.child;
  }

  remove(...values: Array<string | number>): void {
    this.#children.delete(values.join('\u0000'));
  }

  reset(): void {
    this.#children.clear();
  }

  protected abstract newChild(): C;

  protected entries(): IterableIterator<{ labels: Labels<L>; child: C }> {
    return this.#children.values();
  }
}

export class HotCounterChild {
  value = 0;
  inc(n = 1): void {
    this.value += n;
  }
}

export class HotCounter<L extends string = string> extends Family<L, HotCounterChild> {
  protected newChild(): HotCounterChild {
    return new HotCounterChild();
  }

  get(): Exposition<L> {
    const values: Exposition<L>['values'] = [];
    for (const { labels, child } of this.entries()) values.push({ labels, value: child.value });
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values };
  }
}

export class HotHistogramChild {
  readonly #bounds: Float64Array;
  /** counts per bucket (not cumulative); the last slot is +Inf */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: Float64Array) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class HotHistogram<L extends string = string> extends Family<L, HotHistogramChild> {
  readonly #bounds: Float64Array;

  constructor(opts: FamilyOptions<L> & { readonly buckets: readonly number[] }) {
    super(opts);
    this.#bounds = Float64Array.from([...opts.buckets].sort((a, b) => a - b));
  }

  protected newChild(): HotHistogramChild {
    return new HotHistogramChild(this.#bounds);
  }

  get(): Exposition<L | 'le'> {
    const values: Exposition<L | 'le'>['values'] = [];
    for (const { labels, child } of this.entries()) {
      let acc = 0;
      for (let i = 0; i <= this.#bounds.length; i++) {
        acc += child.counts[i]!;
        // `le` first, like prom-client's own histograms
        const le = i < this.#bounds.length ? this.#bounds[i]! : '+Inf';
        values.push({ labels: { le, ...labels } as Labels<L | 'le'>, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: labels as Labels<L | 'le'>, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels: labels as Labels<L | 'le'>, value: child.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
