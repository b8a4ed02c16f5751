// A `clear` empties the queue and makes Twilio return every pending mark at once: those marks mean "flushed", not
// "heard". What the caller did hear is what was sent less what was still buffered at Twilio (the lead).
import { describe, expect, it } from 'vitest';
import { Playout } from '../../src/call/playout.js';
import { createThreadCallStats } from '../../src/call/types.js';
import { FakeTransport } from './support.js';

function setup(leadFrames = 3) {
  const transport = new FakeTransport();
  const stats = createThreadCallStats();
  const playout = new Playout({ transport, streamSid: 'MZx', leadFrames, stats });
  return { transport, stats, playout };
}

describe('marks and clear', () => {
  it('counts a mark returned in the normal course as heard', () => {
    const { playout, stats } = setup();
    playout.play(new Uint8Array(160 * 5), 'u1');
    for (let t = 0; t < 5; t++) playout.onTick(t, t * 20);
    const result = playout.onMark('u1');
    expect(result).toEqual({ kind: 'heard', played: { utteranceId: 'u1', frames: 5 } });
    expect(stats.marksHeard).toBe(1);
    expect(stats.marksFlushed).toBe(0);
  });

  it('counts marks returned after a clear as flushed, never heard', () => {
    const { playout, stats, transport } = setup(3);
    playout.play(new Uint8Array(160 * 2), 'a'); // short: all sent, mark pending
    playout.play(new Uint8Array(160 * 50), 'b');
    playout.onTick(0, 0);
    playout.onTick(1, 20);
    expect(transport.marks()).toEqual(['a']);
    const heard = playout.clear(30, 1234);
    expect(transport.sent[transport.sent.length - 1]).toEqual({ event: 'clear', streamSid: 'MZx' });
    expect(playout.onMark('a')).toEqual({ kind: 'flushed', name: 'a' });
    expect(stats.marksHeard).toBe(0);
    expect(stats.marksFlushed).toBe(1);
    // 'b' had no mark yet; its audio was thrown away with the queue
    expect(heard.atMs).toBe(1234);
    expect(heard.utterances.map((u) => u.utteranceId)).toEqual(['a', 'b']);
    expect(playout.queuedFrames).toBe(0);
    // nothing of the old queue is sent after the clear
    const sentBefore = transport.media().length;
    for (let t = 2; t < 20; t++) playout.onTick(t, t * 20);
    expect(transport.media().length).toBe(sentBefore);
    expect(transport.marks()).toEqual(['a']);
    expect(playout.isPlayingAt(400)).toBe(false);
  });

  it('reports what was heard: frames sent less the lead still buffered at Twilio', () => {
    const { playout } = setup(3);
    playout.play(new Uint8Array(160 * 100), 'reply');
    for (let t = 0; t < 10; t++) playout.onTick(t, t * 20); // 4 + 9 = 13 frames sent
    // at the start of tick 9 (t = 180 ms), frames 0..8 have played; 9..12 are in Twilio's buffer
    const heard = playout.clear(180, 0);
    expect(heard.utterances).toEqual([{ utteranceId: 'reply', framesQueued: 100, framesSent: 13, framesHeard: 9, wasEnded: true }]);
    expect(heard.framesHeard).toBe(9);
  });

  it('plays a new utterance normally after a clear, and its mark is heard', () => {
    const { playout, transport, stats } = setup(2);
    playout.play(new Uint8Array(160 * 30), 'old');
    for (let t = 0; t < 5; t++) playout.onTick(t, t * 20);
    playout.clear(100, 0);
    const cleared = transport.sent.length;
    playout.play(new Uint8Array(160 * 4).fill(0x22), 'new');
    for (let t = 5; t < 12; t++) playout.onTick(t, t * 20);
    const after = transport.sent.slice(cleared);
    expect(after.filter((m) => m.event === 'media').length).toBe(4);
    expect(after[after.length - 1]).toEqual({ event: 'mark', streamSid: 'MZx', name: 'new' });
    expect(playout.onMark('new').kind).toBe('heard');
    expect(playout.onMark('nonsense').kind).toBe('unknown');
    expect(stats.marksHeard).toBe(1);
  });
});
