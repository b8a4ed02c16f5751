// Call events and Twilio's status callbacks as record messages (src/records/messages.ts), for the process's one
// writer: the control plane hands every event here, in the main thread, and the writer queues (bounded) and writes in
// batches, so nothing on a call's path waits for the database. Direction, from and to come from the stream's
// parameters (our TwiML puts them there: inbound, outbound, or a stream that came back from a transfer).
import type { CallEvent } from '../call/events.js';
import type { CallDirection, RecordMessage } from '../records/messages.js';
import type { CallEventRecorder } from './plane.js';

/** A call status callback as the edge read it (POST /webhook/status). */
export interface CallStatusUpdate {
  callSid: string;
  atMs: number;
  status: string;
  direction?: string;
  from?: string;
  to?: string;
  durationMs?: number;
}

export interface RecordSink {
  enqueue(record: RecordMessage): boolean;
}

/** Twilio's Direction (inbound, outbound-api, outbound-dial) or our stream parameter, as a record's direction. */
export function directionOf(value: string | undefined): CallDirection {
  if (value === undefined) return 'inbound';
  if (value === 'browser') return 'browser';
  return value.startsWith('outbound') ? 'outbound' : 'inbound';
}

export class CallRecorder implements CallEventRecorder {
  /**
   * Each live call's stream: turn and utterance ids are a stream's own (they start again on a call that came back
   * from a transfer), so the records key them by stream.
   */
  private readonly streams = new Map<string, string>();

  constructor(private readonly sink: RecordSink) {}

  record(event: CallEvent): void {
    if (event.kind === 'call-started') this.streams.set(event.callSid, event.streamSid);
    const message = toRecord(event, this.streams.get(event.callSid) ?? '');
    if (event.kind === 'call-ended') this.streams.delete(event.callSid);
    if (message !== undefined) this.sink.enqueue(message);
  }

  recordStatus(update: CallStatusUpdate): void {
    this.sink.enqueue({
      kind: 'call-status', callSid: update.callSid, atMs: update.atMs, status: update.status,
      ...(update.direction !== undefined ? { direction: directionOf(update.direction) } : {}),
      ...(update.from !== undefined ? { from: update.from } : {}),
      ...(update.to !== undefined ? { to: update.to } : {}),
      ...(update.durationMs !== undefined ? { durationMs: update.durationMs } : {}),
    });
  }
}

function toRecord(event: CallEvent, streamSid: string): RecordMessage | undefined {
  const { callSid } = event;
  switch (event.kind) {
    case 'call-started': {
      const params = event.customParameters;
      return {
        kind: 'call-started', callSid, streamSid: event.streamSid, direction: directionOf(params['direction']), agent: event.agent,
        startedAtMs: event.atMs, answeredAtMs: event.atMs,
        ...(params['from'] !== undefined ? { from: params['from'] } : {}), ...(params['to'] !== undefined ? { to: params['to'] } : {}),
      };
    }
    case 'caller-turn':
      return {
        kind: 'caller-turn', callSid, turnId: `${streamSid}:${event.turnId}`, startedAtMs: event.startedAtMs, endedAtMs: event.endedAtMs,
        ...(event.text !== undefined ? { text: event.text } : {}), ...(event.latencyMs !== undefined ? { latencyMs: event.latencyMs } : {}),
      };
    case 'agent-said':
      return {
        kind: 'agent-said', callSid, utteranceId: `${streamSid}:${event.utteranceId}`, text: event.text, heardText: event.heardText,
        startedAtMs: event.startedAtMs, endedAtMs: event.atMs, ...(event.latencyMs !== undefined ? { latencyMs: event.latencyMs } : {}),
      };
    case 'barge-in':
      return { kind: 'call-event', callSid, atMs: event.atMs, event: 'barge-in', data: { framesHeard: event.framesHeard } };
    case 'dtmf':
      return { kind: 'call-event', callSid, atMs: event.atMs, event: 'dtmf', data: { digit: event.digit } };
    case 'transfer':
      return { kind: 'call-event', callSid, atMs: event.atMs, event: 'transfer', data: { to: event.to, isWarm: event.isWarm } };
    case 'hang-up':
      return { kind: 'call-event', callSid, atMs: event.atMs, event: 'hang-up', data: { reason: event.reason } };
    case 'note':
      return { kind: 'call-event', callSid, atMs: event.atMs, event: event.note, data: event.data };
    case 'call-ended':
      // no durationMs: the writer counts it from the call's answer, so a call that came back from a transfer (a
      // second stream, the same record) has its whole length; its turns and barge-ins are counted from the record too
      return { kind: 'call-ended', callSid, endedAtMs: event.atMs, reason: event.reason, turns: event.turns, bargeIns: event.bargeIns };
  }
}
