// The latency bench's arithmetic (bench/latency/stages.ts): a turn's stages, taken from the server's fields (which
// count from its estimated end of speech), add up to the total the caller measured; server-added leaves out only the
// hangover and the providers' configured waits; percentiles are by nearest rank; the reply is the first playback
// that begins after the speech ended, not one already under way; the pacing leaves out the playout's lead burst and
// counts a line that ran dry as a gap, not as pacing error.
import { describe, expect, it } from 'vitest';
import { firstReplyFrameMs, percentile, replyPacing, splitTurn, summarize } from '../../bench/latency/stages.js';

const waits = { asrMs: 300, firstTokenMs: 400, firstAudioMs: 250 };
const fields = { transcriptMs: 1103, firstTokenMs: 1528, firstAudioMs: 1798, firstFrameMs: 1816 };

describe('splitTurn', () => {
  it('splits a turn into stages that add up to the measured total', () => {
    const turn = splitTurn(1491, fields, 700, 2, waits);
    expect(turn).toEqual({ total: 1491, hangover: 373, asr: 403, firstToken: 425, firstAudio: 270, firstFrame: 18, delivery: 2, serverAdded: 168 });
    expect(turn.hangover + turn.asr + turn.firstToken + turn.firstAudio + turn.firstFrame + turn.delivery).toBe(turn.total);
  });

  it('counts as server-added everything but the hangover and the providers\' waits', () => {
    const turn = splitTurn(1491, fields, 700, 2, waits);
    const serverStages = turn.asr + turn.firstToken + turn.firstAudio + turn.firstFrame + turn.delivery;
    expect(turn.serverAdded).toBe(serverStages - 950);
  });
});

describe('percentile', () => {
  it('takes the nearest rank and is NaN for no values', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes every stage', () => {
    const turns = [splitTurn(1400, fields, 700, 1, waits), splitTurn(1500, fields, 700, 1, waits)];
    expect(summarize(turns).total).toEqual({ p50: 1400, p95: 1500 });
  });
});

describe('firstReplyFrameMs', () => {
  it('skips a playback under way at the end of speech and one after the next utterance began', () => {
    const playbacks = [[100, 120, 140], [900, 920], [3000]];
    expect(firstReplyFrameMs(playbacks, 130)).toBe(900);
    expect(firstReplyFrameMs(playbacks, 950, 2000)).toBeUndefined();
    expect(firstReplyFrameMs(playbacks, 950)).toBe(3000);
  });
});

describe('replyPacing', () => {
  /** Frame arrival times: a lead of `lead` frames at once, then one every `stepMs`. */
  const paced = (startMs: number, frames: number, lead: number, stepMs = 20): number[] =>
    Array.from({ length: frames }, (_, i) => startMs + Math.max(0, i - lead) * stepMs);

  it('leaves out the lead burst at the start of a playback and after a gap, and counts the gap apart', () => {
    const first = paced(0, 10, 3);
    const second = paced(first.at(-1)! + 140, 10, 3); // the next sentence's audio came 140 ms later: a lead again
    const pacing = replyPacing([[...first, ...second]], 3);
    expect(pacing.gapsOver60Ms).toBe(1);
    expect(pacing.p99ErrorMs).toBe(0);
    expect(pacing.intervalsCounted).toBe(6 + 6);
  });

  it('counts a late frame inside a playback as pacing error', () => {
    const arrivals = paced(0, 104, 3);
    // two frames 7 ms late (each moves the rest on): 2 of the 100 intervals counted, so the p99 is theirs
    for (const lateAt of [50, 80]) for (let i = lateAt; i < arrivals.length; i++) arrivals[i]! += 7;
    expect(replyPacing([arrivals], 3).p99ErrorMs).toBe(7);
    expect(replyPacing([arrivals], 3).gapsOver60Ms).toBe(0);
  });
});
