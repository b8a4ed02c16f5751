// The edge thread's side of a recording, driven by hand: the caller channel takes each frame at its stream time (a
// gap is silence, a timestamp far ahead is held near the clock), the agent channel takes each frame at the tick it
// plays, silence when nothing plays, and a clear takes back what was sent for later ticks; blocks go out whole, one
// second each, and the end says how long the stream is.
import { describe, expect, it } from 'vitest';
import type { RecordingMessage } from '../../src/recording/messages.js';
import { MAX_CALLER_LEAD_SAMPLES, StreamAudioBlocks } from '../../src/recording/stream-audio-blocks.js';

const FRAME = 160;
const CALL_SID = `CA${'ab'.repeat(16)}`;

/** The channels as the writer would assemble them (silence where no block came). */
function assemble(messages: RecordingMessage[]): { caller: Uint8Array; agent: Uint8Array; endSample: number; blocks: number } {
  const end = messages.find((m): m is Extract<RecordingMessage, { kind: 'audio-end' }> => m.kind === 'audio-end');
  const endSample = end?.endSample ?? 0;
  const channels = [new Uint8Array(endSample).fill(0xff), new Uint8Array(endSample).fill(0xff)];
  let blocks = 0;
  for (const m of messages) {
    if (m.kind !== 'audio-block') continue;
    blocks++;
    expect(m.mulaw.length).toBe(8000);
    channels[m.channel]!.set(m.mulaw.subarray(0, Math.max(0, Math.min(8000, endSample - m.blockIndex * 8000))), m.blockIndex * 8000);
  }
  return { caller: channels[0]!, agent: channels[1]!, endSample, blocks };
}

const frameOf = (value: number): Uint8Array => new Uint8Array(FRAME).fill(value);

describe('a stream\'s recording blocks', () => {
  it('places caller frames at their stream time, the gap between them silent', () => {
    const messages: RecordingMessage[] = [];
    const tap = new StreamAudioBlocks(CALL_SID, 'MZ1', 1000, (m) => messages.push(m));
    for (let tick = 0; tick < 150; tick++) {
      if (tick < 10) tap.onCallerFrame(frameOf(tick + 1), tick * 20); // 0..200 ms
      if (tick === 100) tap.onCallerFrame(frameOf(99), 2000); // then nothing until 2 s (Twilio left silence out)
      tap.onTick(500 + tick, 1000 + tick * 20);
    }
    tap.close();
    const { caller, endSample } = assemble(messages);
    expect(endSample).toBe(150 * FRAME); // the agent channel ran with the clock
    for (let k = 0; k < 10; k++) expect(caller.subarray(k * FRAME, (k + 1) * FRAME).every((b) => b === k + 1)).toBe(true);
    expect(caller.subarray(10 * FRAME, 100 * FRAME).every((b) => b === 0xff)).toBe(true);
    expect(caller.subarray(100 * FRAME, 101 * FRAME).every((b) => b === 99)).toBe(true);
    expect(messages[0]).toMatchObject({ kind: 'audio-start', callSid: CALL_SID, streamSid: 'MZ1' });
    expect(messages.at(-1)).toMatchObject({ kind: 'audio-end', endSample: 150 * FRAME });
  });

  it('holds a caller whose timestamps run ahead to a bounded lead over the clock', () => {
    const messages: RecordingMessage[] = [];
    const tap = new StreamAudioBlocks(CALL_SID, 'MZ1', 0, (m) => messages.push(m));
    tap.onTick(0, 0);
    tap.onCallerFrame(frameOf(7), 10 * 3600 * 1000); // claims to be ten hours in
    tap.close();
    const { caller, endSample, blocks } = assemble(messages);
    expect(endSample).toBe(FRAME + MAX_CALLER_LEAD_SAMPLES + FRAME);
    expect(blocks).toBeLessThanOrEqual(6);
    expect(caller.subarray(FRAME + MAX_CALLER_LEAD_SAMPLES).every((b) => b === 7)).toBe(true);
  });

  it('puts each agent frame at the tick it plays, silence when nothing plays, and a clear takes back the unplayed', () => {
    const messages: RecordingMessage[] = [];
    const tap = new StreamAudioBlocks(CALL_SID, 'MZ1', 0, (m) => messages.push(m), 5);
    const ring = new Uint8Array(8 * FRAME);
    for (let f = 0; f < 8; f++) ring.fill(10 + f, f * FRAME, (f + 1) * FRAME);
    for (let tick = 0; tick < 120; tick++) {
      // at tick 50 the playout sends four frames at once (lead 3): they play at 50, 51, 52, 53
      if (tick === 50) for (let f = 0; f < 4; f++) tap.onAgentFrame(ring, f * FRAME, 50 + f);
      // a clear at 51.5: the frame playing then stays, the two after it never play
      if (tick === 52) tap.onAgentClear(51.5);
      if (tick === 80) for (let f = 4; f < 8; f++) tap.onAgentFrame(ring, f * FRAME, 80 + (f - 4));
      tap.onTick(tick, tick * 20);
    }
    tap.close();
    const { agent } = assemble(messages);
    const frame = (tick: number): Uint8Array => agent.subarray(tick * FRAME, (tick + 1) * FRAME);
    expect(frame(49).every((b) => b === 0xff)).toBe(true);
    expect(frame(50).every((b) => b === 10)).toBe(true);
    expect(frame(51).every((b) => b === 11)).toBe(true);
    expect(frame(52).every((b) => b === 0xff)).toBe(true); // cleared: sent, never played
    expect(frame(53).every((b) => b === 0xff)).toBe(true);
    for (let f = 4; f < 8; f++) expect(frame(80 + f - 4).every((b) => b === 10 + f)).toBe(true);
    expect(agent.subarray(84 * FRAME).every((b) => b === 0xff)).toBe(true);
  });

  it('posts each channel\'s block once its second is over, and nothing after the end', () => {
    const messages: RecordingMessage[] = [];
    const tap = new StreamAudioBlocks(CALL_SID, 'MZ1', 0, (m) => messages.push(m));
    for (let tick = 0; tick < 49; tick++) tap.onTick(tick, tick * 20);
    expect(messages.filter((m) => m.kind === 'audio-block')).toHaveLength(0);
    tap.onTick(49, 49 * 20); // the agent channel's first second is over
    expect(messages.filter((m) => m.kind === 'audio-block')).toMatchObject([{ channel: 1, blockIndex: 0 }]);
    tap.close();
    const count = messages.length;
    tap.onCallerFrame(frameOf(1), 1000);
    tap.onTick(50, 1000);
    tap.close();
    expect(messages).toHaveLength(count);
  });
});
