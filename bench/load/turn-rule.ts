/**
 * The project's own turn rule, applied to a load conversation: the turns ai-crmd's engine makes of the caller's
 * stream, found by running the project's own VAD (src/audio/dsp.ts) and TurnDetector (src/call/turns.ts) with the
 * engine's defaults over the loop. The load generator counts every echo against these turns (what the server was
 * supposed to play back), and reports how they differ from the plain energy rule of labels.json (the utterances'
 * first and last voiced sample), so that frames the turn rule leaves out are told apart from frames lost on the way.
 *
 * The plain energy rule: an utterance runs from its first frame that is not digital silence to its last
 * (LoadConversation's voiced frames). The engine's rule differs from it thus: the VAD dates the speech from its onset
 * (onsetMs of frames above floor + margin and above its -45 dBFS gate, so a quiet first frame is not speech) and the
 * turn's audio starts leadInMs (2 frames) before that; the turn ends hangoverMs after the last voiced frame with all
 * but tailMs (5 frames) of that silence trimmed; pauses shorter than the hangover do not split a turn; turns shorter
 * than minTurnMs are dropped. On conv-en that makes each turn 1-2 frames before the first voiced frame to 5 after the
 * last: every voiced frame is inside its turn. (labels.json's ends run on into 17-20 frames of digital silence, so
 * against the labels the turns look 11-13 frames short though they leave no voiced frame out.)
 */
import { mulawDecode, VAD_DEFAULTS, Vad, VadEvent } from '../../src/audio/dsp.js';
import { TurnDetector } from '../../src/call/turns.js';
import { DEFAULT_BARGE_IN_MIN_SPEECH_MS } from '../../src/config.js';
import type { CallerTurn } from '../../src/call/agent-contract.js';
import { FRAME_MS, SAMPLES_PER_FRAME } from '../../src/twilio/media-format.js';
import type { LoadConversation } from './conversation.js';

/** The engine's defaults (src/config.ts: TURN_MIN_MS, TURN_MAX_MS, BARGE_IN_MIN_SPEECH_MS, PLAYOUT_LEAD_FRAMES); the
 * barge-in's is read from the config module, so that the calibration server's cut echoes follow it when it changes. */
export const ENGINE_TURN_DEFAULTS = { minTurnMs: 250, maxTurnMs: 30_000, bargeInMinSpeechMs: DEFAULT_BARGE_IN_MIN_SPEECH_MS, leadFrames: 3 } as const;

export interface RuleTurn {
  /** Loop frame of the turn's first frame of audio (lead-in included), 0..loopFrames-1. */
  firstFrame: number;
  /** Frames of audio in the turn: what its echo carries. */
  frames: number;
  /** Stream frames from the turn's first frame to the frame on which the engine handed it to the agent. */
  handedAfterFrames: number;
  /** The labelled utterance this turn is of (-1: none overlaps). */
  utterance: number;
}

/** The stream's frames as 8 kHz PCM, one Int16Array per loop frame. */
function decodeLoop(conv: LoadConversation): Int16Array[] {
  return conv.payloadAscii.map((b64) => mulawDecode(new Uint8Array(Buffer.from(b64.toString('latin1'), 'base64'))));
}

/**
 * The turns the engine makes of `loops` passes of the loop, starting at loop frame `startFrame`, in stream order.
 * Each turn's first frame is found by matching its audio against the stream (not assumed from its timestamps).
 */
export function engineTurns(conv: LoadConversation, startFrame = 0, loops = 3): Array<RuleTurn & { streamFirstFrame: number }> {
  const pcm = decodeLoop(conv);
  const vad = new Vad({});
  const made: Array<{ turn: CallerTurn; handedAt: number }> = [];
  let frameIndex = 0;
  const detector = new TurnDetector({
    onsetMs: VAD_DEFAULTS.onsetMs, hangoverMs: VAD_DEFAULTS.hangoverMs,
    minTurnMs: ENGINE_TURN_DEFAULTS.minTurnMs, maxTurnMs: ENGINE_TURN_DEFAULTS.maxTurnMs,
    bargeIn: { enabled: false, minSpeechMs: ENGINE_TURN_DEFAULTS.bargeInMinSpeechMs },
  }, {
    isAgentPlaying: () => false,
    onBargeIn: () => undefined,
    onTurn: (turn) => made.push({ turn, handedAt: frameIndex }),
  });
  const total = loops * conv.loopFrames;
  for (; frameIndex < total; frameIndex++) {
    const frame = pcm[(startFrame + frameIndex) % conv.loopFrames]!;
    const r = vad.process(frame);
    detector.onFrame(r.event === VadEvent.None ? 0 : r.event, r.levelDbfs, frame, frameIndex * FRAME_MS);
  }
  detector.dispose();
  const matches = (turn: CallerTurn, at: number): boolean => {
    const n = Math.min(turn.pcm8k.length / SAMPLES_PER_FRAME, total - at);
    for (let f = 0; f < n; f++) {
      const src = pcm[(startFrame + at + f) % conv.loopFrames]!;
      for (let i = 0; i < SAMPLES_PER_FRAME; i++) if (turn.pcm8k[f * SAMPLES_PER_FRAME + i] !== src[i]) return false;
    }
    return true;
  };
  return made.map(({ turn, handedAt }) => {
    const guess = Math.round(turn.startMs / FRAME_MS);
    let at = -1;
    for (let d = 0; d <= 20 && at < 0; d++) {
      if (guess - d >= 0 && matches(turn, guess - d)) at = guess - d;
      else if (d > 0 && matches(turn, guess + d)) at = guess + d;
    }
    if (at < 0) throw new Error(`turn ${turn.turnId} (${turn.startMs} ms) matches no place in the stream`);
    const firstFrame = (startFrame + at) % conv.loopFrames;
    const frames = turn.pcm8k.length / SAMPLES_PER_FRAME;
    return { firstFrame, frames, handedAfterFrames: handedAt - at, utterance: utteranceOf(conv, firstFrame, frames), streamFirstFrame: at };
  });
}

/** The labelled utterance the most of whose frames lie inside [firstFrame, firstFrame + frames) (mod the loop). */
function utteranceOf(conv: LoadConversation, firstFrame: number, frames: number): number {
  let best = -1;
  let bestOverlap = 0;
  conv.utterances.forEach((u, i) => {
    let overlap = 0;
    for (let f = 0; f < frames; f++) {
      const x = (firstFrame + f) % conv.loopFrames;
      if (x >= u.startFrame && x <= u.endFrame) overlap++;
    }
    if (overlap > bestOverlap) { best = i; bestOverlap = overlap; }
  });
  return best;
}

/**
 * The engine's turns of the loop in steady state: those of the second pass (the VAD's floor has seen a whole loop),
 * one per place in the loop, ordered by first frame.
 */
export function steadyTurns(conv: LoadConversation): RuleTurn[] {
  const all = engineTurns(conv, 0, 3);
  const second = all.filter((t) => t.streamFirstFrame >= conv.loopFrames && t.streamFirstFrame < 2 * conv.loopFrames);
  return second.map(({ streamFirstFrame: _, ...t }) => t).sort((a, b) => a.firstFrame - b.firstFrame);
}

/**
 * How a turn differs from its utterance's energy-rule span, in frames (negative: the turn starts/ends earlier), and
 * how many of the utterance's voiced frames the turn leaves out.
 */
export function turnVsEnergy(conv: LoadConversation, turn: RuleTurn): { startDelta: number; endDelta: number; framesDelta: number; voicedLeftOut: number } {
  const u = conv.utterances[turn.utterance];
  if (u === undefined) return { startDelta: NaN, endDelta: NaN, framesDelta: NaN, voicedLeftOut: NaN };
  const lastFrame = turn.firstFrame + turn.frames - 1;
  const startDelta = turn.firstFrame - u.voicedFirstFrame;
  const endDelta = lastFrame - u.voicedLastFrame;
  const voicedLeftOut = Math.max(0, startDelta) + Math.max(0, -endDelta);
  return { startDelta, endDelta, framesDelta: turn.frames - (u.voicedLastFrame - u.voicedFirstFrame + 1), voicedLeftOut };
}
