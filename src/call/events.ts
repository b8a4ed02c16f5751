// Everything about a call that is not audio, as the call engine publishes it and accepts it: typed per-call events
// (started, a caller turn, what the agent said and what of it was heard, barge-in, DTMF, transfer, ended) and
// commands (say a line, clear, hang up, transfer). Records, metrics, logs and the console subscribe to the events
// instead of reaching into the registry; the control API and the agent act on a call through the commands.
// Events are per turn and per call, never per frame. call/ knows no transport, provider or database: a sink is
// handed in (src/control/ provides the thread's bus), and a command the engine cannot carry out itself (a transfer
// or the hang-up of the Twilio call) is handed on as an event for control/ to act on.

/** Milliseconds since the Unix epoch (wall time: records and the API speak it; the engine's clock is monotonic). */
export type EpochMs = number;

export type CallEvent =
  | {
    kind: 'call-started'; callSid: string; streamSid: string; accountSid: string; atMs: EpochMs;
    customParameters: Record<string, string>; agent: string;
  }
  /** A caller turn ended (audio); `text` once the agent transcribed it (a second event with the same turnId). */
  | {
    kind: 'caller-turn'; callSid: string; turnId: number; atMs: EpochMs; startedAtMs: EpochMs; endedAtMs: EpochMs;
    durationMs: number; endReason: string; wasBargeIn: boolean; text?: string; latencyMs?: number;
  }
  /** An agent utterance is over: what it said and what of it the caller heard (all of it, unless cut). */
  | {
    kind: 'agent-said'; callSid: string; utteranceId: string; atMs: EpochMs; startedAtMs: EpochMs; text: string;
    heardText: string; isCut: boolean; latencyMs?: number;
  }
  | { kind: 'barge-in'; callSid: string; atMs: EpochMs; framesHeard: number }
  | { kind: 'dtmf'; callSid: string; atMs: EpochMs; digit: string }
  /** The call is to be transferred (control/ updates it through Twilio's REST API). */
  | { kind: 'transfer'; callSid: string; atMs: EpochMs; to: string; isWarm: boolean; summary: string }
  /** The Twilio call is to be completed (control/ calls Twilio); published after the goodbye was heard, if any. */
  | { kind: 'hang-up'; callSid: string; atMs: EpochMs; reason: string }
  /** Something worth a record that is not one of the above (a fallback line, a provider error). */
  | { kind: 'note'; callSid: string; atMs: EpochMs; note: string; data: Record<string, unknown> }
  | {
    kind: 'call-ended'; callSid: string; atMs: EpochMs; reason: string; durationMs: number; turns: number;
    bargeIns: number;
  };

export type CallEventKind = CallEvent['kind'];

/** Where a thread's call events go (src/control/ provides the bus). Must not throw; must not block. */
export interface CallEventSink {
  publish(event: CallEvent): void;
}

/** Drops every event (a registry without subscribers, and tests that do not listen). */
export const NO_EVENTS: CallEventSink = { publish: () => undefined };

export type CallCommand =
  | { kind: 'say'; text: string }
  | { kind: 'clear' }
  /** With `goodbye`, the line is said first and the call hung up once it was heard (its mark came back). */
  | { kind: 'hang-up'; goodbye?: string; reason?: string }
  | { kind: 'transfer'; to: string; isWarm?: boolean; line?: string; summary?: string };

export type CommandResult =
  | { ok: true }
  | { ok: false; code: 'unknown-call' | 'call-ended' | 'not-supported' | 'bad-command'; message: string };
