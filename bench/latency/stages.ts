// The arithmetic of the voice-to-voice latency bench: one turn's total (measured by the caller, from the end of its
// speech to the first reply frame it received) split into stages by the server's own per-turn log fields
// (TurnLatency.fields(): ms since the server's estimated end of speech), and p50/p95 over many turns.
import { FRAME_MS } from '../../src/twilio/media-format.js';

/** The server's REPLY_FIRST_FRAME fields for one turn (ms since its estimated end of speech, hangover included). */
export interface ServerTurnFields {
  transcriptMs: number;
  firstTokenMs: number;
  firstAudioMs: number;
  firstFrameMs: number;
}

/** What the fake providers were set to wait before answering (ms). */
export interface ProviderWaitsMs {
  asrMs: number;
  firstTokenMs: number;
  firstAudioMs: number;
}

/** One turn, stage by stage (ms). */
export interface TurnStagesMs {
  /** End of the caller's speech to the first reply frame it received. */
  total: number;
  /**
   * End of speech (the label) to the server hearing of the turn: the VAD's hangover as it played out, measured as
   * what is left of the total once the server's own stages and the delivery are taken out.
   */
  hangover: number;
  /** Turn received to transcript (WAV building, upload, the provider's answer). */
  asr: number;
  /** Transcript to the first reply token. */
  firstToken: number;
  /** First token to the first sentence's synthesized audio. */
  firstAudio: number;
  /** First audio to its first frame written to the caller's stream. */
  firstFrame: number;
  /** Written by the server to received by the caller (the loopback socket). */
  delivery: number;
  /**
   * The total minus the hangover and the providers' waits that lie after the turn was received (each stage's wait
   * counted at most as long as that stage took: a transcript streamed, or a first token asked for early, during the
   * hangover is no wait of the turn's): what the server (and the loopback) adds.
   */
  serverAdded: number;
}

export const STAGE_NAMES = ['total', 'hangover', 'asr', 'firstToken', 'firstAudio', 'firstFrame', 'delivery', 'serverAdded'] as const;

/**
 * Splits a turn: `fields` count from the server's origin (turn received − `configuredHangoverMs`), so the server's
 * share from the turn received to its first frame is firstFrameMs − configuredHangoverMs; the stages add up to the total.
 */
export function splitTurn(totalMs: number, fields: ServerTurnFields, configuredHangoverMs: number, deliveryMs: number, waits: ProviderWaitsMs): TurnStagesMs {
  const hangover = totalMs - deliveryMs - (fields.firstFrameMs - configuredHangoverMs);
  return {
    total: totalMs,
    hangover,
    asr: fields.transcriptMs - configuredHangoverMs,
    firstToken: fields.firstTokenMs - fields.transcriptMs,
    firstAudio: fields.firstAudioMs - fields.firstTokenMs,
    firstFrame: fields.firstFrameMs - fields.firstAudioMs,
    delivery: deliveryMs,
    serverAdded: totalMs - hangover - stageWait(fields.transcriptMs - configuredHangoverMs, waits.asrMs)
      - stageWait(fields.firstTokenMs - fields.transcriptMs, waits.firstTokenMs) - stageWait(fields.firstAudioMs - fields.firstTokenMs, waits.firstAudioMs),
  };
}

/** How much of a provider's wait a stage that took `stageMs` can hold. */
function stageWait(stageMs: number, waitMs: number): number {
  return Math.max(0, Math.min(stageMs, waitMs));
}

/** The p-th percentile (0-100) by nearest rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export type StageSummary = Record<(typeof STAGE_NAMES)[number], { p50: number; p95: number }>;

export function summarize(turns: readonly TurnStagesMs[]): StageSummary {
  const out = {} as StageSummary;
  for (const name of STAGE_NAMES) {
    const values = turns.map((t) => t[name]);
    out[name] = { p50: percentile(values, 50), p95: percentile(values, 95) };
  }
  return out;
}

/**
 * The first frame of the first playback that begins after `endMs` and before `beforeMs` (the caller's next
 * utterance): the reply to that speech. A playback under way at `endMs` (the greeting, a reply before) is not it.
 */
export function firstReplyFrameMs(playbacks: readonly (readonly number[])[], endMs: number, beforeMs = Infinity): number | undefined {
  for (const playback of playbacks) {
    const first = playback[0];
    if (first !== undefined && first > endMs && first < beforeMs) return first;
  }
  return undefined;
}

/** The caller's pacing of the replies, with what is design and what is starvation told apart (see replyPacing). */
export interface ReplyPacing {
  /** |interval − 20 ms| p99 over the intervals counted. */
  p99ErrorMs: number;
  intervalsCounted: number;
  /** Intervals over 60 ms inside one playback: the line ran dry mid-reply (the next sentence's audio was late) or
   * the server's clock stalled; either way the caller hears a hole. */
  gapsOver60Ms: number;
}

/**
 * Pacing error of the frames as the caller heard them, without the server's lead burst: the first `leadSkip`
 * intervals of each playback are left out (the playout sends PLAYOUT_LEAD_FRAMES at once by design, as bench/load
 * counts it), and so are the `leadSkip` after each audible gap (a line that ran dry sends its lead again when the next
 * sentence's audio comes). The gaps themselves are counted, not averaged in.
 */
export function replyPacing(playbacks: readonly (readonly number[])[], leadSkip: number, gapMs = 60): ReplyPacing {
  const errors: number[] = [];
  let gaps = 0;
  for (const playback of playbacks) {
    let skip = leadSkip;
    for (let i = 1; i < playback.length; i++) {
      const intervalMs = (playback[i] as number) - (playback[i - 1] as number);
      if (intervalMs > gapMs) { gaps++; skip = leadSkip; continue; }
      if (skip > 0) { skip--; continue; }
      errors.push(Math.abs(intervalMs - FRAME_MS));
    }
  }
  errors.sort((a, b) => a - b);
  const p99 = errors.length === 0 ? Number.NaN : errors[Math.min(errors.length - 1, Math.ceil(0.99 * errors.length) - 1)] as number;
  return { p99ErrorMs: p99, intervalsCounted: errors.length, gapsOver60Ms: gaps };
}
