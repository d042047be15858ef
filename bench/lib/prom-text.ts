/**
 * Reads a server's `GET /metrics` (Prometheus text format 0.0.4) for the figures a benchmark wants
 * from inside the server: histogram sums and counts (diffed between two scrapes around a run) and
 * gauges. Only what prom-client emits is handled: `name{label="value",...} number`, no timestamps.
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)\s*$/;
const LABEL = /([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"/g;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/** Every sample of a scrape, in order. Comment and blank lines are skipped. */
export function parsePromText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = unescape(l[2]!);
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/**
 * The sum of the samples named `name` whose labels include `labels` (so a histogram's `_count`
 * over every `failed` label, or one label set exactly); 0 when there is none.
 */
export function sumOf(
  samples: readonly PromSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** The value of the first sample named `name`, or NaN. */
export function valueOf(samples: readonly PromSample[], name: string): number {
  return samples.find((s) => s.name === name)?.value ?? Number.NaN;
}

/** A histogram's sum and count, diffed between two scrapes: the observations made in between. */
export interface HistogramDelta {
  readonly sum: number;
  readonly count: number;
  /** sum / count, NaN when nothing was observed. */
  readonly mean: number;
}

export function histogramDelta(
  before: readonly PromSample[],
  after: readonly PromSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): HistogramDelta {
  const sum = sumOf(after, `${name}_sum`, labels) - sumOf(before, `${name}_sum`, labels);
  const count = sumOf(after, `${name}_count`, labels) - sumOf(before, `${name}_count`, labels);
  return { sum, count, mean: count > 0 ? sum / count : Number.NaN };
}

/** Observations ≤ `le` (cumulative, as Prometheus buckets are). */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/** A histogram's buckets diffed between two scrapes: observations ≤ `le`, cumulative, by bound. */
export function bucketsDelta(
  before: readonly PromSample[],
  after: readonly PromSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Bucket[] {
  const bounds = new Set<string>();
  for (const s of after) {
    if (s.name === `${name}_bucket` && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      bounds.add(s.labels.le!);
  }
  return [...bounds]
    .map((le) => ({
      le: le === '+Inf' ? Infinity : Number(le),
      count:
        sumOf(after, `${name}_bucket`, { ...labels, le }) -
        sumOf(before, `${name}_bucket`, { ...labels, le }),
    }))
    .sort((a, b) => a.le - b.le);
}

/** All observations of cumulative buckets (the last one is `+Inf`); 0 when there are none. */
export function bucketTotal(buckets: readonly Bucket[]): number {
  return buckets.length === 0 ? 0 : buckets[buckets.length - 1]!.count;
}

/** Observations ≤ `seconds` when a bucket has exactly that bound (to the µs), else undefined. */
export function countWithin(buckets: readonly Bucket[], seconds: number): number | undefined {
  return buckets.find((b) => Math.round(b.le * 1e6) === Math.round(seconds * 1e6))?.count;
}

/** The smallest bucket bound holding at least fraction `q` of the observations: ≥ the q-quantile. */
export function quantileBound(buckets: readonly Bucket[], q: number): number {
  const total = bucketTotal(buckets);
  if (total === 0) return Number.NaN;
  return buckets.find((b) => b.count >= q * total)!.le;
}

/** GET <url>/metrics, parsed. */
export async function scrapeMetrics(baseUrl: string): Promise<PromSample[]> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${baseUrl}/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  return parsePromText(text);
}
