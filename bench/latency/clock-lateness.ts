// The server's own pacing, beside what the callers measure: the playout clock's lateness histogram
// (aicrmd_clock_lateness_seconds, summed across threads on GET /metrics), read before and after a step. The callers'
// inter-arrival error also holds the generator's stalls (its process runs the fakes too); this one is the server's.

const METRIC = 'aicrmd_clock_lateness_seconds';

/** Cumulative bucket counts by upper bound in ms (Infinity for +Inf), as Prometheus exposes them. */
export type LatenessBuckets = ReadonlyMap<number, number>;

/** The clock-lateness buckets from a Prometheus text body (lines `name_bucket{...le="0.005"} 123`), summed over series. */
export function parseLatenessBuckets(body: string): LatenessBuckets {
  const out = new Map<number, number>();
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${METRIC}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const count = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(count)) continue;
    const boundMs = le === '+Inf' ? Infinity : Number(le) * 1000;
    out.set(boundMs, (out.get(boundMs) ?? 0) + count);
  }
  return out;
}

export interface ClockLateness {
  passes: number;
  /** Share of the step's clock passes that ran later than each bound (ms), in percent. */
  percentLaterThan: ReadonlyMap<number, number>;
  /** The smallest bucket bound that holds 99 % of the step's passes (an upper bound on the p99, in ms). */
  p99UpperBoundMs: number;
}

/** What happened between two readings. */
export function latenessBetween(before: LatenessBuckets, after: LatenessBuckets): ClockLateness {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const delta = (bound: number): number => (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
  const passes = delta(Infinity);
  const percentLaterThan = new Map<number, number>();
  let p99UpperBoundMs = Number.NaN;
  for (const bound of bounds) {
    if (bound === Infinity) continue;
    const within = delta(bound);
    percentLaterThan.set(bound, passes > 0 ? (100 * (passes - within)) / passes : Number.NaN);
    if (Number.isNaN(p99UpperBoundMs) && passes > 0 && within >= 0.99 * passes) p99UpperBoundMs = bound;
  }
  if (Number.isNaN(p99UpperBoundMs) && passes > 0) p99UpperBoundMs = Infinity;
  return { passes, percentLaterThan, p99UpperBoundMs };
}

/** GET /metrics, parsed; undefined (and the step reports no server pacing) when the server does not answer. */
export async function readLatenessBuckets(port: number): Promise<LatenessBuckets | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? parseLatenessBuckets(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}
