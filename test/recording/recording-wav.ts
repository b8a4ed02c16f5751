// What the recording tests share: the WAV the API serves, read field by field (never trusting our own writer's
// helpers), split into its two channels, and an authorized GET of it.
import { mulawDecode } from '../../src/audio/dsp.js';

export interface ServedWav {
  riffSize: number;
  format: number;
  channels: number;
  sampleRateHz: number;
  byteRate: number;
  blockAlign: number;
  bitsPerSample: number;
  dataSize: number;
  caller: Int16Array;
  agent: Int16Array;
}

/** Reads a 44-byte-header PCM WAV; throws when its chunks are not where a canonical header has them. */
export function readServedWav(bytes: Uint8Array): ServedWav {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => buf.toString('ascii', at, at + 4);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE' || tag(12) !== 'fmt ' || tag(36) !== 'data') throw new Error(`not a canonical WAV: ${buf.subarray(0, 44).toString('hex')}`);
  const dataSize = buf.readUInt32LE(40);
  const frames = Math.floor((buf.length - 44) / 4);
  const caller = new Int16Array(frames);
  const agent = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    caller[i] = buf.readInt16LE(44 + i * 4);
    agent[i] = buf.readInt16LE(46 + i * 4);
  }
  return {
    riffSize: buf.readUInt32LE(4), format: buf.readUInt16LE(20), channels: buf.readUInt16LE(22), sampleRateHz: buf.readUInt32LE(24),
    byteRate: buf.readUInt32LE(28), blockAlign: buf.readUInt16LE(32), bitsPerSample: buf.readUInt16LE(34), dataSize, caller, agent,
  };
}

export async function getRecording(baseUrl: string, callSid: string, apiKey: string | undefined): Promise<{ status: number; headers: Headers; bytes: Uint8Array }> {
  const response = await fetch(`${baseUrl}/api/calls/${callSid}/recording.wav`, {
    headers: { connection: 'close', ...(apiKey !== undefined ? { Authorization: `Bearer ${apiKey}` } : {}) },
  });
  return { status: response.status, headers: response.headers, bytes: new Uint8Array(await response.arrayBuffer()) };
}

export function decode(mulaw: Uint8Array): Int16Array {
  return mulawDecode(mulaw);
}

/** Is every sample in [from, to) zero (decoded mu-law silence)? */
export function isSilent(pcm: Int16Array, from: number, to: number): boolean {
  for (let i = Math.max(0, from); i < Math.min(to, pcm.length); i++) if (pcm[i] !== 0) return false;
  return true;
}

/** Where `window` occurs exactly in `pcm`, searching starts in [from, to]; -1 when nowhere. */
export function findExact(pcm: Int16Array, window: Int16Array, from: number, to: number): number {
  const last = Math.min(to, pcm.length - window.length);
  for (let start = Math.max(0, from); start <= last; start++) {
    let i = 0;
    while (i < window.length && pcm[start + i] === window[i]) i++;
    if (i === window.length) return start;
  }
  return -1;
}
