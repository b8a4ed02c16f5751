// Summing per-thread counters: plain numbers, added field by field (the supervisor's totals, a dead thread's retired
// figures).
import type { CallStats, EdgeThreadStats } from './app.js';

export function sumStats(into: EdgeThreadStats, add: EdgeThreadStats): void {
  for (const key of Object.keys(into) as Array<keyof EdgeThreadStats>) into[key] += add[key] ?? 0;
}

export function sumCallStats(into: CallStats, add: CallStats): void {
  for (const [key, value] of Object.entries(add)) into[key] = (into[key] ?? 0) + value;
}
