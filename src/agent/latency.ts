// Per-turn latency of the AI pipeline, stage by stage from the end of the caller's speech: transcript ready, first
// reply token, first synthesized audio, first frame written to Twilio (the playout reports it through
// Agent.onUtteranceStarted on the tick that sends it). The agent learns of a turn one VAD hangover after the speech
// ended, so the origin is "turn received - hangover". Each milestone goes to the log lines (ASR_TEXT, TTS_SUCCESS,
// REPLY_FIRST_FRAME) and to the turn's observer (the thread's metrics histogram), per turn, never per frame.
// TURN_STAGES is the one list of stage names: the pipeline marks them, the metrics label them.

/** The stages of a turn, in the order they are reached (also the `stage` label of aicrmd_turn_latency_seconds). */
export const TURN_STAGES = ['transcript', 'first_token', 'first_audio', 'first_frame'] as const;
export type TurnStage = (typeof TURN_STAGES)[number];

/** Told of each stage of a turn the first time it is reached, with its latency in ms. */
export type TurnLatencyObserver = (stage: TurnStage, ms: number) => void;

/** The milestones of one turn. */
export class TurnLatency {
  /** performance.now() of the estimated end of speech. */
  readonly originMs: number;
  private readonly marks: Partial<Record<TurnStage, number>> = {};
  private readonly observer: TurnLatencyObserver | undefined;

  constructor(hangoverMs = 0, observer?: TurnLatencyObserver, nowMs = performance.now()) {
    this.originMs = nowMs - hangoverMs;
    this.observer = observer;
  }

  /** Records a stage the first time it is reached (later calls are ignored); returns its latency in ms. */
  mark(stage: TurnStage, nowMs = performance.now()): number {
    const existing = this.marks[stage];
    if (existing !== undefined) return existing;
    const ms = Math.round(nowMs - this.originMs);
    this.marks[stage] = ms;
    try {
      this.observer?.(stage, ms);
    } catch {
      // an observer's bug must not break a call
    }
    return ms;
  }

  has(stage: TurnStage): boolean {
    return this.marks[stage] !== undefined;
  }

  /** Fields for a log line: { transcriptMs, firstTokenMs, firstAudioMs, firstFrameMs } as far as reached. */
  fields(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const stage of TURN_STAGES) {
      const ms = this.marks[stage];
      if (ms !== undefined) out[`${stage.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase())}Ms`] = ms;
    }
    return out;
  }
}
