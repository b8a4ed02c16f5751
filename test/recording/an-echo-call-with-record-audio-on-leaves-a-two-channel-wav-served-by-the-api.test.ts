// RECORD_AUDIO=on end to end through the real server (two edge threads, the echo agent, barge-in on): the conv-en call
// (its second sentence cuts the first echo: a clear) leaves a WAV that the control API serves, whose header says 2
// channels, 8 kHz, 16-bit PCM with the right sizes, whose caller channel is exactly the audio sent, decoded, at each
// frame's stream time, and whose agent channel holds what the caller heard (the echoes, the cut one only as far as it
// played) at the times it heard them; the call's record says it has a recording. And the route's 401 and 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, newSid, type CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { loadReferenceCall, mediaUrl } from '../integration/reference-calls.js';
import { until } from '../records/backends.js';
import { decode, findExact, getRecording, isSilent, readServedWav, type ServedWav } from './recording-wav.js';

const API_KEY = 'recording-e2e-api-key-0123456789abcdef';
const FRAME = 160;
/** How far the agent channel may sit from where the caller placed what it heard (network, a tick's phase). */
const ALIGNMENT_SLACK_SAMPLES = 1600; // 200 ms

describe('an echo call with RECORD_AUDIO=on', () => {
  let server: RunningServer;
  const callSid = newSid('CA');
  const en = loadReferenceCall('conv-en');
  let result: CallerResult;
  let served: { status: number; headers: Headers; bytes: Uint8Array };
  let wav: ServedWav;
  let events: Array<{ kind: string; data: Record<string, unknown> }> = [];

  beforeAll(async () => {
    server = await startServer({ env: { EDGE_THREADS: '2', CONTROL_API_KEY: API_KEY, RECORD_AUDIO: 'on' } });
    result = await new Caller({ url: mediaUrl(server), audio: en.audio, callSid, tailMs: 6000 }).run();
    await until('the call\'s record with its recording event', async () => {
      const response = await fetch(`${server.baseUrl}/api/calls/${callSid}`, { headers: { Authorization: `Bearer ${API_KEY}`, connection: 'close' } });
      if (response.status !== 200) return false;
      events = ((await response.json()) as { events: typeof events }).events;
      return events.some((e) => e.kind === 'recording');
    }, 15_000);
    served = await getRecording(server.baseUrl, callSid, API_KEY);
    wav = readServedWav(served.bytes);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('is served as a 16-bit 8 kHz two-channel PCM WAV whose sizes match its length', () => {
    expect(result.closeCode).toBe(1000);
    expect(result.clears).toBeGreaterThan(0); // the barge-in happened: the agent channel must show the cut
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('audio/wav');
    expect(Number(served.headers.get('content-length'))).toBe(served.bytes.length);
    expect(wav).toMatchObject({ format: 1, channels: 2, sampleRateHz: 8000, bitsPerSample: 16, byteRate: 32_000, blockAlign: 4 });
    expect(wav.dataSize).toBe(served.bytes.length - 44);
    expect(wav.riffSize).toBe(served.bytes.length - 8);
    // the call lasted the audio sent and the tail: the file as long, within a second
    const sentMs = result.framesSent * 20;
    expect(wav.caller.length / 8).toBeGreaterThan(sentMs);
    expect(wav.caller.length / 8).toBeLessThan(sentMs + 6000 + 1000);
  });

  it('has the caller channel exactly the audio sent, decoded, at each frame\'s stream time', () => {
    // as the caller sent it: the last partial frame padded with silence
    const frames = Math.ceil(en.audio.length / FRAME);
    const sent = new Uint8Array(frames * FRAME).fill(0xff);
    sent.set(en.audio);
    let wrongFrames = 0;
    for (let k = 0; k < frames; k++) {
      const expected = decode(sent.subarray(k * FRAME, (k + 1) * FRAME));
      const got = wav.caller.subarray(k * FRAME, (k + 1) * FRAME);
      if (got.some((sample, i) => sample !== expected[i])) wrongFrames++;
    }
    expect(wrongFrames).toBe(0);
    expect(isSilent(wav.caller, frames * FRAME, wav.caller.length)).toBe(true); // nothing was sent after the audio
  });

  it('has the agent channel hold what the caller heard, where it heard it, and nothing the clear cut', () => {
    const heard = decode(result.heardMulaw);
    const countSounding = (pcm: Int16Array): number => pcm.reduce((n, s) => n + (s !== 0 ? 1 : 0), 0);
    const heardSamples = countSounding(heard);
    expect(heardSamples).toBeGreaterThan(8000 * 3); // both echoes, the first one cut
    // as much audio as was heard: the cut echo only as far as it played (a frame or two of slack at the clear)
    expect(Math.abs(countSounding(wav.agent) - heardSamples)).toBeLessThan(3 * FRAME);
    // the first thing heard sits at the same stream time in the agent channel (within the slack)
    const first = heard.findIndex((s) => s !== 0);
    const at = findExact(wav.agent, heard.subarray(first, first + FRAME), first - ALIGNMENT_SLACK_SAMPLES, first + ALIGNMENT_SLACK_SAMPLES);
    expect(at, 'the first frame heard is in the agent channel near its time').toBeGreaterThanOrEqual(0);
    const offset = at - first;
    // and so does every other 20 ms window of it (each playback may sit a frame apart from the first)
    let windows = 0;
    let found = 0;
    for (let w = first; w + FRAME <= heard.length; w += FRAME) {
      const window = heard.subarray(w, w + FRAME);
      if (window.every((s) => s === 0)) continue;
      windows++;
      if (findExact(wav.agent, window, w + offset - 3 * FRAME, w + offset + 3 * FRAME) >= 0) found++;
    }
    expect(windows).toBeGreaterThan(100);
    expect(found / windows).toBeGreaterThan(0.95);
  });

  it('leaves a recording event in the call\'s record, with the file\'s duration', () => {
    const event = events.find((e) => e.kind === 'recording');
    expect(event?.data['durationMs']).toBe(Math.round(wav.caller.length / 8));
  });

  it('answers 401 without the key, and 404 for a call it never saw', async () => {
    const unauthorized = await getRecording(server.baseUrl, callSid, undefined);
    expect(unauthorized.status).toBe(401);
    expect(JSON.parse(Buffer.from(unauthorized.bytes).toString('utf8'))).toMatchObject({ error: { code: 'unauthorized' } });
    const wrongKey = await getRecording(server.baseUrl, callSid, 'not-the-key-0123456789abcdef');
    expect(wrongKey.status).toBe(401);
    const unknown = await getRecording(server.baseUrl, newSid('CA'), API_KEY);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(Buffer.from(unknown.bytes).toString('utf8'))).toMatchObject({ error: { code: 'unknown-call' } });
    const badSid = await getRecording(server.baseUrl, '..%2F..%2Fetc', API_KEY);
    expect(badSid.status).toBe(400);
  });
});
