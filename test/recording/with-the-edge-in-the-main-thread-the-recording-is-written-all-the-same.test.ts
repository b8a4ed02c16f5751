// EDGE_THREADS=0: the edge, the call engine and the recording writer share the main thread's event loop; the taps
// hand their blocks to the writer directly (no transfer), its writes are fs promises, and the call's WAV comes out
// the same: the caller channel is the audio sent, at its stream times, and the agent channel holds the echo.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, newSid, type CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { loadReferenceCall, mediaUrl } from '../integration/reference-calls.js';
import { until } from '../records/backends.js';
import { decode, getRecording, readServedWav } from './recording-wav.js';

const API_KEY = 'recording-main-thread-api-key-0123456789';
const FRAME = 160;

describe('RECORD_AUDIO=on with EDGE_THREADS=0', () => {
  let server: RunningServer;
  const callSid = newSid('CA');
  // the first sentence of conv-en and a second of silence after it: one turn, one echo
  const audio = loadReferenceCall('conv-en').audio.subarray(0, 200 * FRAME);
  let result: CallerResult;

  beforeAll(async () => {
    server = await startServer({ env: { EDGE_THREADS: '0', CONTROL_API_KEY: API_KEY, RECORD_AUDIO: 'on' } });
    result = await new Caller({ url: mediaUrl(server), audio, callSid, tailMs: 5000 }).run();
  }, 40_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('leaves the call\'s WAV with the caller\'s audio at its stream times and the echo on the agent channel', async () => {
    expect(result.closeCode).toBe(1000);
    let served = await getRecording(server.baseUrl, callSid, API_KEY);
    await until('the recording, complete', async () => {
      served = await getRecording(server.baseUrl, callSid, API_KEY);
      return served.status === 200 && server.logs().some((line) => line['event'] === 'RECORDING_DONE' && line['callSid'] === callSid);
    }, 10_000);
    served = await getRecording(server.baseUrl, callSid, API_KEY);
    const wav = readServedWav(served.bytes);
    expect(wav).toMatchObject({ channels: 2, sampleRateHz: 8000, bitsPerSample: 16, dataSize: served.bytes.length - 44 });
    const sent = decode(audio);
    expect(wav.caller.subarray(0, sent.length)).toEqual(sent);
    const heard = decode(result.heardMulaw);
    const sounding = (pcm: Int16Array): number => pcm.reduce((n, s) => n + (s !== 0 ? 1 : 0), 0);
    expect(sounding(heard)).toBeGreaterThan(8000);
    expect(Math.abs(sounding(wav.agent) - sounding(heard))).toBeLessThan(3 * FRAME);
  });
});
