// The pacing of the server's media frames as a caller hears it: inter-arrival intervals within each playback, their
// quantiles, their error against the 20 ms frame period, and the gaps long enough to hear.
import { FRAME_MS } from '../twilio/media-format.js';

/** A gap longer than this inside one playback is audible. */
export const AUDIBLE_GAP_MS = 60;

export interface PacingStats {
  /** Media frames received. */
  frames: number;
  /** Inter-arrival intervals measured (consecutive frames within one playback). */
  intervals: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** |interval - 20 ms|: the pacing error. */
  p50ErrorMs: number;
  p99ErrorMs: number;
  maxErrorMs: number;
  /** Intervals over 60 ms inside a playback. */
  gapsOver60Ms: number;
}

/** The q-quantile (0..1) of ascending `sorted` by the nearest-rank method; 0 for no values. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

/** Inter-arrival figures over frames grouped per playback (intervals are never taken across playbacks). */
export function pacingStats(playbacks: number[][]): PacingStats {
  const intervals: number[] = [];
  let frames = 0;
  for (const arrivals of playbacks) {
    frames += arrivals.length;
    for (let i = 1; i < arrivals.length; i++) intervals.push((arrivals[i] as number) - (arrivals[i - 1] as number));
  }
  const sorted = [...intervals].sort((a, b) => a - b);
  const errors = intervals.map((x) => Math.abs(x - FRAME_MS)).sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    frames,
    intervals: intervals.length,
    p50Ms: round(quantile(sorted, 0.5)),
    p99Ms: round(quantile(sorted, 0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
    p50ErrorMs: round(quantile(errors, 0.5)),
    p99ErrorMs: round(quantile(errors, 0.99)),
    maxErrorMs: round(errors[errors.length - 1] ?? 0),
    gapsOver60Ms: intervals.filter((x) => x > AUDIBLE_GAP_MS).length,
  };
}
