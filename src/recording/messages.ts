// What an edge thread sends the process's one recording writer about a stream's audio: its start, one-second blocks
// of 8 kHz mu-law per channel (0 = caller, 1 = agent; block k holds samples k*8000 .. k*8000+7999 of the stream's
// clock), and its end (how many samples the stream's recording holds). Plain structured-clone messages: a block's
// bytes own their ArrayBuffer, which is transferred, never copied. They cross a thread boundary, so the writer checks
// them (recordingMessageProblem) rather than trusting the type.
import { SAMPLE_RATE_HZ } from '../twilio/media-format.js';

/** Samples (and mu-law bytes) per block: one second. */
export const BLOCK_SAMPLES = SAMPLE_RATE_HZ;
export const CALLER_CHANNEL = 0;
export const AGENT_CHANNEL = 1;
export type AudioChannel = typeof CALLER_CHANNEL | typeof AGENT_CHANNEL;
/** A stream's recording ends after this many blocks (a day) whatever its messages say. */
export const MAX_BLOCKS_PER_STREAM = 24 * 3600;

export type RecordingMessage =
  | { kind: 'audio-start'; callSid: string; streamSid: string; atMs: number }
  | { kind: 'audio-block'; callSid: string; streamSid: string; channel: AudioChannel; blockIndex: number; mulaw: Uint8Array }
  | { kind: 'audio-end'; callSid: string; streamSid: string; endSample: number; atMs: number };

/** A callSid as Twilio writes it: the only form that becomes a file name. */
export const CALL_SID_PATTERN = /^CA[0-9a-fA-F]{32}$/;
const STREAM_SID_PATTERN = /^[A-Za-z0-9]{1,64}$/;

/** Why `value` is not a recording message, or undefined when it is one. */
export function recordingMessageProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const m = value as Record<string, unknown>;
  if (typeof m['callSid'] !== 'string' || !CALL_SID_PATTERN.test(m['callSid'])) return 'callSid must be CA followed by 32 hex digits';
  if (typeof m['streamSid'] !== 'string' || !STREAM_SID_PATTERN.test(m['streamSid'])) return 'streamSid must be 1 to 64 letters and digits';
  switch (m['kind']) {
    case 'audio-start':
      return Number.isSafeInteger(m['atMs']) ? undefined : 'atMs must be epoch milliseconds';
    case 'audio-block': {
      if (m['channel'] !== CALLER_CHANNEL && m['channel'] !== AGENT_CHANNEL) return 'channel must be 0 (caller) or 1 (agent)';
      const index = m['blockIndex'];
      if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || index >= MAX_BLOCKS_PER_STREAM) {
        return `blockIndex must be an integer from 0 to ${MAX_BLOCKS_PER_STREAM - 1}`;
      }
      const mulaw = m['mulaw'];
      return mulaw instanceof Uint8Array && mulaw.length === BLOCK_SAMPLES ? undefined : `mulaw must be ${BLOCK_SAMPLES} bytes`;
    }
    case 'audio-end': {
      const end = m['endSample'];
      if (typeof end !== 'number' || !Number.isSafeInteger(end) || end < 0) return 'endSample must be a whole number of samples';
      return Number.isSafeInteger(m['atMs']) ? undefined : 'atMs must be epoch milliseconds';
    }
    default:
      return 'kind must be audio-start, audio-block or audio-end';
  }
}
