/**
 * What a bench/dsp section hands back to run.ts: its own table (printed and written into RESULTS.md), the targets it
 * checks, and notes. Also the shared formatting of per-frame speed rows and of the "native vs fastest peer" ratio.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Table { header: string[]; rows: string[][]; align: ('l' | 'r')[] }
export interface TargetCheck { target: string; measured: string; isMet: boolean }
export interface SectionResult { title: string; table: Table; targets: TargetCheck[]; notes: string[] }

/** The repository root (this file runs from dist/bench/dsp/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const FRAME_NS = 20e6;

export function fixture(name: string): Buffer {
  return readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', name));
}

export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} us`;
  if (ns >= 100) return `${ns.toFixed(0)} ns`;
  return `${ns.toFixed(1)} ns`;
}

/** Frames per second one core can do at this cost. */
export function fmtRate(nsPerFrame: number): string {
  const perS = 1e9 / nsPerFrame;
  if (perS >= 1e6) return `${(perS / 1e6).toFixed(2)} M/s`;
  if (perS >= 1e3) return `${(perS / 1e3).toFixed(1)} k/s`;
  return `${perS.toFixed(0)} /s`;
}

export function fmtRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a';
  return ratio >= 10 ? `${ratio.toFixed(0)}x` : `${ratio.toFixed(1)}x`;
}

export interface SpeedRow {
  group: string;          // e.g. 'encode, 1 frame per call'
  impl: string;
  nsPerFrame: number;
  isNative: boolean;
  isPeerEligible?: boolean;   // peers only: counts as "fastest peer" (e.g. meets the quality bar); default true
  quality?: string;
  note?: string;
}

export const SPEED_HEADER = ['Case', 'Implementation', 'ns / 20 ms frame', 'frames/s (1 core)', 'native speedup', 'Quality', 'Note'];
export const SPEED_ALIGN: ('l' | 'r')[] = ['l', 'l', 'r', 'r', 'r', 'l', 'l'];

export function fastestPeer(rows: readonly SpeedRow[], group: string): SpeedRow | undefined {
  let best: SpeedRow | undefined;
  for (const r of rows) {
    if (r.group !== group || r.isNative || r.isPeerEligible === false) continue;
    if (!best || r.nsPerFrame < best.nsPerFrame) best = r;
  }
  return best;
}

export function fastestNative(rows: readonly SpeedRow[], group: string): SpeedRow | undefined {
  let best: SpeedRow | undefined;
  for (const r of rows) {
    if (r.group !== group || !r.isNative) continue;
    if (!best || r.nsPerFrame < best.nsPerFrame) best = r;
  }
  return best;
}

/** Native rows get "fastest eligible peer's ns / this ns" in the speedup column. */
export function speedTable(rows: readonly SpeedRow[]): Table {
  return {
    header: SPEED_HEADER,
    align: SPEED_ALIGN,
    rows: rows.map((r) => {
      const peer = r.isNative ? fastestPeer(rows, r.group) : undefined;
      return [
        r.group,
        r.impl,
        fmtNs(r.nsPerFrame),
        fmtRate(r.nsPerFrame),
        peer ? `${fmtRatio(peer.nsPerFrame / r.nsPerFrame)} vs ${peer.impl}` : '',
        r.quality ?? '',
        r.note ?? '',
      ];
    }),
  };
}
