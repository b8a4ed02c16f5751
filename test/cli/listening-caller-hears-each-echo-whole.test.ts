// The README's demo, through the real server (`node dist/src/main.js`, the echo agent, barge-in on as by default):
// conv-en's second sentence starts 2 s after the first ends, while the first echo is still playing. Played straight
// through, it talks over that echo and cuts it (barge-in). With --listen (CallerOptions.listen) the caller sends
// silence after each sentence until the echo has played and its mark came back, so both echoes come back whole:
// two playbacks, each its sentence's length, marks echo-1 and echo-2 heard, nothing cleared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { loadReferenceCall, runCall } from '../integration/reference-calls.js';

const call = loadReferenceCall('conv-en');
/** An echo is its sentence's length to within this share (the server's turn adds lead-in and trims hangover). */
const LENGTH_TOLERANCE = 0.25;
/** After the file: long enough for the last echo (under 4 s) to start and play when the caller does not listen. */
const TAIL_MS = 6_000;

let server: RunningServer;
let listening: CallerResult;
let straight: CallerResult;

beforeAll(async () => {
  server = await startServer({ env: { LOG_LEVEL: 'warn' } });
  [listening, straight] = await Promise.all([
    runCall(server, call.audio, { listen: true, tailMs: 1_000 }),
    runCall(server, call.audio, { tailMs: TAIL_MS }),
  ]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

function describeCall(result: CallerResult): string {
  return JSON.stringify({ playbacks: result.playbacks.map((p) => p.length), clears: result.clears, events: result.events });
}

const sentenceFrames = (i: number): number => call.utteranceFrames[i]![1] - call.utteranceFrames[i]![0];

describe('a caller that listens (--listen)', () => {
  it('hears both echoes whole: two playbacks, each about its sentence\'s length, nothing cleared', () => {
    expect(listening.playbacks.length, describeCall(listening)).toBe(2);
    expect(listening.clears, describeCall(listening)).toBe(0);
    listening.playbacks.forEach((arrivals, i) => {
      const share = Math.abs(arrivals.length - sentenceFrames(i)) / sentenceFrames(i);
      expect(share, `echo ${i + 1}: ${arrivals.length} frames for a sentence of ${sentenceFrames(i)}`).toBeLessThanOrEqual(LENGTH_TOLERANCE);
    });
  });

  it('returned marks echo-1 and echo-2 after each had played, and waited for a reply after each sentence', () => {
    expect(listening.marksEchoed, describeCall(listening)).toEqual(['echo-1', 'echo-2']);
    const waits = listening.events.filter((e) => e.type === 'listen-end').map((e) => e.detail ?? '');
    expect(waits, describeCall(listening)).toHaveLength(2);
    for (const detail of waits) expect(detail).toMatch(/^reply played/);
    // the second sentence went out only after the first echo had been heard
    const firstMarkEchoed = listening.events.find((e) => e.type === 'mark-echoed')!.tMs;
    expect(listening.events.filter((e) => e.type === 'listen-end')[0]!.tMs).toBeGreaterThanOrEqual(firstMarkEchoed);
  });
});

describe('a caller that does not listen', () => {
  it('talks over the first echo, which is cut (barge-in); the second comes back whole', () => {
    expect(straight.clears, describeCall(straight)).toBeGreaterThanOrEqual(1);
    expect(straight.playbacks.length, describeCall(straight)).toBe(2);
    expect(straight.playbacks[0]!.length, describeCall(straight)).toBeLessThan(sentenceFrames(0) * (1 - LENGTH_TOLERANCE));
    const share = Math.abs(straight.playbacks[1]!.length - sentenceFrames(1)) / sentenceFrames(1);
    expect(share, describeCall(straight)).toBeLessThanOrEqual(LENGTH_TOLERANCE);
    expect(straight.events.some((e) => e.type === 'listen-start')).toBe(false);
  });
});
