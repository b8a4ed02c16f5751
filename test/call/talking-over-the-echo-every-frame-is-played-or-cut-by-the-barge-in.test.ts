// A caller who talks over every echo (conv-en looped as recorded, as bench/load's talk-over conversation sends it):
// every frame of every turn the engine makes is either sent to the caller or dropped by the clear of the barge-in
// that cut it, never lost. Each playback is the turn's own audio from its first frame, without a gap or a repeat;
// a cut playback carries exactly the frames the playout reported sent at the clear, and the one that ends whole
// carries the whole turn. The turns themselves are the engine's rule, not the energy rule: each starts 1-2 frames
// before its utterance's first voiced frame and ends 5 frames after its last (the trimmed hangover's tail), so no
// voiced frame is left out, and the load benchmark's model of that rule (bench/load/turn-rule.ts) makes the same turns.
import { describe, expect, it } from 'vitest';
import { engineConfig, FakeCaller, makeEngine, silenceFrames, stream } from './support.js';
import { loadConversation } from '../../bench/load/conversation.js';
import { steadyTurns } from '../../bench/load/turn-rule.js';
import { mulawEncode } from '../../src/audio/dsp.js';

const conv = loadConversation({ kind: 'talk-over' });
const loopFrames = conv.payloadAscii.map((b64) => new Uint8Array(Buffer.from(b64.toString('latin1'), 'base64')));
const hex = (frame: Uint8Array): string => Buffer.from(frame).toString('hex');

interface Playback { frames: string[]; end: 'mark' | 'clear' | 'none' }

/** The outbound messages of one call, cut into playbacks at each mark and each clear. */
function playbacks(sent: FakeCaller['transport']['sent']): Playback[] {
  const out: Playback[] = [];
  let current: Playback | null = null;
  for (const m of sent) {
    if (m.event === 'media') {
      current ??= { frames: [], end: 'none' };
      current.frames.push(hex(m.payload));
    } else if (m.event === 'mark' || m.event === 'clear') {
      if (current !== null) {
        current.end = m.event;
        out.push(current);
      }
      current = null;
    }
  }
  if (current !== null) out.push(current);
  return out;
}

describe('a caller talking over every echo', () => {
  // starts mid-loop (at a point where a call may start), four loops, then silence for the last echo to play whole
  const start = conv.startFrames[Math.floor(conv.startFrames.length / 3)]!;
  const input = [
    ...Array.from({ length: 4 * conv.loopFrames }, (_, i) => loopFrames[(start + i) % conv.loopFrames]!),
    ...silenceFrames(400),
  ];
  const engine = makeEngine(engineConfig({ turns: { minTurnMs: 250, maxTurnMs: 30_000 }, bargeIn: { enabled: true, minSpeechMs: 200 } }));
  const caller = new FakeCaller(engine);
  caller.connect();
  stream(engine, [caller], input, { returnMarks: true });
  const agent = engine.agents[0]!;
  const played = playbacks(caller.transport.sent);

  it('barges in on every echo but the last, and plays each turn once', () => {
    expect(agent.turns.length).toBe(8);
    expect(played.length).toBe(agent.turns.length);
    expect(played.slice(0, -1).every((p) => p.end === 'clear')).toBe(true);
    expect(played.at(-1)!.end).toBe('mark');
    expect(agent.bargeIns.length).toBe(agent.turns.length - 1);
  });

  it('sends every frame of each turn up to its clear, from the turn\'s first frame, with no gap or repeat', () => {
    let sentTotal = 0;
    let droppedTotal = 0;
    let turnTotal = 0;
    agent.turns.forEach((turn, i) => {
      const turnFrames: string[] = [];
      const mulaw = mulawEncode(turn.pcm8k);
      for (let o = 0; o < mulaw.length; o += 160) turnFrames.push(hex(mulaw.subarray(o, o + 160)));
      const p = played[i]!;
      // a prefix of the turn, frame for frame
      expect(p.frames).toEqual(turnFrames.slice(0, p.frames.length));
      turnTotal += turnFrames.length;
      sentTotal += p.frames.length;
      if (p.end === 'mark') {
        expect(p.frames.length).toBe(turnFrames.length);
      } else {
        // what the playout says it had sent at the clear is exactly what the caller received; the rest was dropped
        const progress = agent.bargeIns[i]!.utterances.find((u) => u.utteranceId === `echo-${turn.turnId}`)!;
        expect(progress.framesQueued).toBe(turnFrames.length);
        expect(progress.framesSent).toBe(p.frames.length);
        droppedTotal += progress.framesQueued - progress.framesSent;
      }
    });
    expect(sentTotal + droppedTotal).toBe(turnTotal);
  });

  it('makes the turns of its own rule, which leave no voiced frame out, as the load benchmark models them', () => {
    const rule = steadyTurns(conv);
    expect(rule.length).toBe(conv.utterances.length);
    for (const turn of agent.turns) {
      // the turn's first frame in the loop: the input frame its first 160 samples decode from
      const firstFrame = (start + Math.round(turn.startMs / 20) - 2) % conv.loopFrames;
      const model = rule.find((t) => t.firstFrame === firstFrame);
      expect(model, `turn ${turn.turnId} at loop frame ${firstFrame}`).toBeDefined();
      expect(turn.pcm8k.length / 160).toBe(model!.frames);
      const u = conv.utterances[model!.utterance]!;
      // 1-2 frames of lead-in before the first voiced frame, the 5-frame tail after the last
      expect(u.voicedFirstFrame - firstFrame).toBeGreaterThanOrEqual(1);
      expect(u.voicedFirstFrame - firstFrame).toBeLessThanOrEqual(2);
      expect(firstFrame + model!.frames - 1 - u.voicedLastFrame).toBe(5);
    }
  });
});
