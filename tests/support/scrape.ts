/**
 * A real scrape of `/metrics`, parsed by a real Prometheus text parser (prom2javascript,
 * which keeps histogram labels and checks each histogram's `+Inf` bucket against its count).
 */
import {
  getMetricsFromIterator,
  type PromData,
  type PromHistogramData,
  type PromMetrics,
} from "prom2javascript";

export type Labels = Record<string, string>;

/** The parsed exposition, with lookups that fail loudly on a missing metric. */
export class Scrape {
  constructor(readonly metrics: PromMetrics) {}

  /** Parses a `/metrics` response (status 200, Prometheus text) or throws. */
  static async of(res: Response): Promise<Scrape> {
    const text = await res.text();
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${text}`);
    if (!res.headers.get("content-type")?.startsWith("text/plain; version=0.0.4")) {
      throw new Error(`/metrics content-type: ${res.headers.get("content-type")}`);
    }
    return new Scrape(await getMetricsFromIterator(text.split("\n")[Symbol.iterator]()));
  }

  type(name: string): string {
    return this.#metric(name).type;
  }

  /** The value of the counter or gauge sample whose labels include `labels`; 0 when none. */
  value(name: string, labels: Labels = {}): number {
    const samples = this.#metric(name).data as PromData[];
    return samples.filter((s) => matches(s.labels, labels)).reduce((sum, s) => sum + s.value, 0);
  }

  /** The histogram series whose labels include `labels`, summed; count 0 when none. */
  histogram(name: string, labels: Labels = {}): { count: number; sum: number } {
    const series = (this.#metric(name).data as PromHistogramData[])
      .filter((s) => matches(s.labels, labels));
    return {
      count: series.reduce((n, s) => n + s.count, 0),
      sum: series.reduce((n, s) => n + (s.sum ?? 0), 0),
    };
  }

  /** Every label value of every sample, for checks that ids never become labels. */
  labelValues(): string[] {
    return Object.values(this.metrics).flatMap((metric) =>
      (metric.data as { labels: Labels }[]).flatMap((s) => Object.values(s.labels))
    );
  }

  #metric(name: string) {
    const metric = this.metrics[name];
    if (!metric) throw new Error(`No metric ${name} in the scrape`);
    return metric;
  }
}

function matches(labels: Labels, wanted: Labels): boolean {
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}
