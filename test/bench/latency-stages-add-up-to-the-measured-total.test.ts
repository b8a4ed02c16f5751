// The latency bench's arithmetic (bench/latency/stages.ts): a turn's stages, taken from the server's fields (which
// count from its estimated end of speech), add up to the total the caller measured; server-added leaves out only the
// hangover and the providers' configured waits; percentiles are by nearest rank; the reply is the first playback
// that begins after the speech ended, not one already under way.
import { describe, expect, it } from 'vitest';
import { firstReplyFrameMs, percentile, splitTurn, summarize } from '../../bench/latency/stages.js';

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
