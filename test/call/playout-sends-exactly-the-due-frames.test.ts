// The playout sends, per tick, exactly the frames that are due: a burst of 1 + lead frames when a playback starts,
// then one frame per tick, the missed frames when a tick is late (catch-up), never more than `lead` frames ahead.
import { describe, expect, it } from 'vitest';
import { createThreadCallStats } from '../../src/call/types.js';
import { Playout } from '../../src/call/playout.js';
import { FakeTransport } from './support.js';

function setup(leadFrames = 3) {
  const transport = new FakeTransport();
  const stats = createThreadCallStats();
  const playout = new Playout({ transport, streamSid: 'MZtest', leadFrames, stats, initialCapacityFrames: 8 });
  return { transport, stats, playout };
}

/** n frames whose first byte is the frame number (to check order). */
function frames(n: number, first = 0): Uint8Array {
  const bytes = new Uint8Array(n * 160).fill(0x7f);
  for (let i = 0; i < n; i++) bytes[i * 160] = (first + i) & 0xff;
  return bytes;
}

describe('Playout pacing', () => {
  it('sends 1 + lead frames at the start, then one per tick, in order, then the mark; several messages in a tick are corked', () => {
    const { transport, playout, stats } = setup(3);
    playout.play(frames(50), 'u1'); // grows the ring from 8 frames
    const perTick: number[] = [];
    const messagesByCorking = { corked: [] as number[], uncorked: [] as number[] };
    for (let tick = 10; tick < 70; tick++) {
      const before = transport.media().length;
      const sentBefore = transport.sent.length;
      const outsideBefore = transport.writesOutsideCork;
      playout.onTick(tick, tick * 20);
      perTick.push(transport.media().length - before);
      const messages = transport.sent.length - sentBefore;
      const outside = transport.writesOutsideCork - outsideBefore;
      if (messages > 0) (outside === 0 ? messagesByCorking.corked : messagesByCorking.uncorked).push(messages);
      expect(outside === 0 || outside === messages).toBe(true); // a tick's writes are all corked or all not
    }
    expect(perTick[0]).toBe(4);
    expect(perTick.slice(1, 47)).toEqual(new Array(46).fill(1));
    expect(perTick.slice(47)).toEqual(new Array(13).fill(0));
    const media = transport.media();
    expect(media.length).toBe(50);
    media.forEach((m, i) => {
      expect(m.streamSid).toBe('MZtest');
      expect(m.payload.length).toBe(160);
      expect(m.payload[0]).toBe(i);
    });
    // the mark comes right after the last frame
    const lastMedia = transport.sent.lastIndexOf(media[49]!);
    expect(transport.sent[lastMedia + 1]).toEqual({ event: 'mark', streamSid: 'MZtest', name: 'u1' });
    expect(stats.framesOut).toBe(50);
    expect(stats.marksSent).toBe(1);
    // a tick that sends several messages (the lead at the start, the last frame and its mark) corks them into one
    // write; the usual one-frame tick writes it at once
    expect(messagesByCorking.corked).toEqual([4, 2]);
    expect(messagesByCorking.uncorked).toEqual(new Array(45).fill(1));
  });

  it('catches up in one pass when a tick is late, so the playback length stays exact', () => {
    const { transport, playout } = setup(3);
    playout.play(frames(40), 'u1');
    playout.onTick(0, 0); // 4 frames
    playout.onTick(1, 20); // 1
    const before = transport.media().length;
    playout.onTick(5, 100); // ticks 2..5 were covered by one late pass: 4 frames
    expect(transport.media().length - before).toBe(4);
    playout.onTick(6, 120);
    expect(transport.media().length - before).toBe(5);
  });

  it('never runs more than `lead` frames ahead of real time', () => {
    for (const lead of [0, 1, 3, 10]) {
      const { transport, playout } = setup(lead);
      playout.play(frames(100), 'u');
      for (let tick = 0; tick < 120; tick++) {
        playout.onTick(tick, tick * 20);
        const sent = transport.media().length;
        // frames sent <= frames whose play time has started (tick + 1) + lead
        expect(sent).toBeLessThanOrEqual(tick + 1 + lead);
      }
      expect(transport.media().length).toBe(100);
    }
  });

  it('restarts its timeline when Twilio has run dry, and pads a partial last frame with silence', () => {
    const { transport, playout } = setup(2);
    playout.play(new Uint8Array(200).fill(0x11), 'short'); // 1.25 frames
    playout.onTick(0, 0);
    expect(transport.media().length).toBe(2);
    const second = transport.media()[1]!.payload;
    expect(Array.from(second.subarray(0, 40))).toEqual(new Array(40).fill(0x11));
    expect(Array.from(second.subarray(40))).toEqual(new Array(120).fill(0xff));
    // long after, a new utterance bursts again (the buffer at Twilio is empty)
    playout.play(frames(10), 'next');
    playout.onTick(100, 2000);
    expect(transport.media().length).toBe(2 + 3);
    expect(transport.marks()).toEqual(['short']);
  });

  it('streams an utterance enqueued in parts and marks it only once it is ended and sent', () => {
    const { transport, playout } = setup(1);
    playout.enqueue(new Uint8Array(100).fill(1), 's');
    playout.onTick(0, 0);
    expect(transport.media().length).toBe(0); // a partial frame waits for more audio
    expect(playout.isPlayingAt(0)).toBe(true); // an open utterance counts as playing
    playout.enqueue(new Uint8Array(300).fill(2), 's'); // 400 bytes: 2 whole frames + 80
    playout.onTick(1, 20);
    expect(transport.media().length).toBe(2);
    playout.endUtterance('s');
    expect(transport.marks()).toEqual([]);
    playout.onTick(2, 40);
    expect(transport.media().length).toBe(3);
    expect(transport.marks()).toEqual(['s']);
    // a new id after an open one ends the open one
    playout.enqueue(new Uint8Array(160), 'a');
    playout.enqueue(new Uint8Array(160), 'b');
    playout.endUtterance('b');
    for (let t = 3; t < 10; t++) playout.onTick(t, t * 20);
    expect(transport.marks()).toEqual(['s', 'a', 'b']);
  });
});
