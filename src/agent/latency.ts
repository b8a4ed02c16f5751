// Per-turn latency of the AI pipeline, stage by stage from the end of the caller's speech: transcript ready, first
// reply token, first synthesized audio, first frame written to Twilio (the playout reports it through
// Agent.onUtteranceStarted on the tick that sends it). The agent learns of a turn one VAD hangover after the speech
// ended, so the origin is "turn received - hangover". Each milestone goes to the log lines (ASR_TEXT, TTS_SUCCESS)
// and to whoever registered with addTurnLatencyObserver (the metrics module's histogram), per turn, never per frame.

export const TURN_STAGES = ['transcript', 'first_token', 'first_audio', 'first_frame'] as const;
export type TurnStage = (typeof TURN_STAGES)[number];

export type TurnLatencyObserver = (stage: TurnStage, ms: number) => void;

const observers = new Set<TurnLatencyObserver>();

/** Registers an observer of every stage of every turn in this thread; returns its removal. */
export function addTurnLatencyObserver(observer: TurnLatencyObserver): () => void {
  observers.add(observer);
  return () => {
    observers.delete(observer);
  };
}

/** The milestones of one turn. */
export class TurnLatency {
  /** performance.now() of the estimated end of speech. */
  readonly originMs: number;
  private readonly marks: Partial<Record<TurnStage, number>> = {};

  constructor(hangoverMs = 0, nowMs = performance.now()) {
    this.originMs = nowMs - hangoverMs;
  }

  /** Records a stage the first time it is reached (later calls are ignored); returns its latency in ms. */
  mark(stage: TurnStage, nowMs = performance.now()): number {
    const existing = this.marks[stage];
    if (existing !== undefined) return existing;
    const ms = Math.round(nowMs - this.originMs);
    this.marks[stage] = ms;
    for (const observer of observers) {
      try {
        observer(stage, ms);
      } catch {
        // an observer's bug must not break a call
      }
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
