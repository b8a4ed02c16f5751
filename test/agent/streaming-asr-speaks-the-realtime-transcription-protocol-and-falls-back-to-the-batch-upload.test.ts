// The streaming transcriber against the fake realtime transcription server (a real WebSocket on 127.0.0.1, the
// protocol of OpenAI's realtime transcription sessions): the session is configured for our turns (24 kHz PCM, the
// transcribe model and language, the server's turn detection off), a turn's audio streams while it is "spoken" and
// reaches the server resampled to exactly 3 samples per input sample, and its transcript comes from the commit with
// no batch upload. When the commit fails, the socket is refused or closes, or the server hangs, the batch upload of
// the same turn answers instead, and the socket comes back after a backoff.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resampleWhole } from '../../src/audio/dsp.js';
import { OpenAIRealtimeTranscriber, realtimeTranscriptionUrl } from '../../src/agent/openai-realtime-transcriber.js';
import { StreamingAsr } from '../../src/agent/streaming-asr.js';
import { DeadlineExceeded } from '../../src/agent/provider-call.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { sleep } from '../fakes/http-fake.js';

let fake: FakeOpenAI;
const opened: StreamingAsr[] = [];

beforeAll(async () => {
  fake = await startFakeOpenAI({ realtime: { transcript: (index) => `turn ${index + 1} text`, delayMs: 20 } });
});
afterEach(() => {
  for (const asr of opened.splice(0)) asr.close();
  fake.realtime.behaviour = 'ok';
  fake.realtime.nextCommits.length = 0;
  fake.realtime.refuseUpgrades = 0;
});
afterAll(async () => {
  await fake?.close();
});

function makeAsr(options: { waitMs?: number; stallTimeoutMs?: number; minReconnectDelayMs?: number; prompt?: string } = {}): { asr: StreamingAsr; socket: OpenAIRealtimeTranscriber } {
  const socket = new OpenAIRealtimeTranscriber({
    baseUrl: fake.baseUrl, apiKey: 'test', model: 'gpt-4o-mini-transcribe', language: 'he',
    stallTimeoutMs: options.stallTimeoutMs ?? 5000, minReconnectDelayMs: options.minReconnectDelayMs ?? 50,
    ...(options.prompt !== undefined ? { prompt: options.prompt } : {}),
  });
  const asr = new StreamingAsr(socket, options.waitMs ?? 500);
  opened.push(asr);
  return { asr, socket };
}

async function ready(socket: OpenAIRealtimeTranscriber): Promise<void> {
  for (let i = 0; i < 200 && !socket.isReady; i++) await sleep(10);
  expect(socket.isReady).toBe(true);
}

/** A turn of `ms` of a 440 Hz tone (8 kHz), in 100 ms batches. */
function speak(asr: StreamingAsr, turnId: number, ms: number): Int16Array {
  const pcm = new Int16Array(ms * 8);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  asr.onTurnStarted(turnId);
  for (let at = 0; at < pcm.length; at += 800) asr.onTurnAudio(turnId, pcm.subarray(at, Math.min(pcm.length, at + 800)));
  return pcm;
}

function batchSpy(text = 'from the batch', delayMs = 0) {
  const calls: AbortSignal[] = [];
  const batch = async (signal: AbortSignal): Promise<string> => {
    calls.push(signal);
    if (delayMs > 0) await sleep(delayMs);
    if (signal.aborted) throw new Error('batch aborted');
    return text;
  };
  return { calls, batch };
}

describe('streaming transcription over the realtime socket', () => {
  it('opens a transcription session configured for our turns', async () => {
    const { asr, socket } = makeAsr({ prompt: 'Dr. Cohen, Ramat Gan' });
    asr.open();
    await ready(socket);
    const session = fake.realtime.sessions.at(-1)!;
    expect(session.url).toBe('/v1/realtime?intent=transcription');
    expect(realtimeTranscriptionUrl('https://api.openai.com/v1')).toBe('wss://api.openai.com/v1/realtime?intent=transcription');
    expect(session.headers.authorization).toBe('Bearer test');
    await fake.realtime.waitFor(() => session.sessionUpdates.length === 1);
    expect(session.configErrors).toEqual([]);
    expect(session.sessionUpdates[0]).toEqual({
      type: 'transcription',
      audio: { input: {
        format: { type: 'audio/pcm', rate: 24_000 },
        transcription: { model: 'gpt-4o-mini-transcribe', language: 'he', prompt: 'Dr. Cohen, Ramat Gan' },
        turn_detection: null,
      } },
    });
  });

  it("answers a turn from its commit without a batch upload, and the server got the turn's audio at 24 kHz", async () => {
    const { asr, socket } = makeAsr();
    asr.open();
    await ready(socket);
    const before = fake.realtime.commits().length;
    const pcm8k = speak(asr, 1, 1230);
    const { calls, batch } = batchSpy();
    const result = await asr.transcribe(1, new AbortController().signal, batch);
    expect(result).toEqual({ text: `turn ${before + 1} text`, via: 'stream' });
    expect(calls).toHaveLength(0);
    const commit = fake.realtime.commits().at(-1)!;
    expect(commit.pcm24k.length).toBe(pcm8k.length * 3);
    // the same signal as a whole-turn resample (the streaming resampler's delay dropped, its tail flushed)
    const whole = resampleWhole(pcm8k, 8000, 24_000);
    let maxDiff = 0;
    for (let i = 0; i < commit.pcm24k.length; i++) maxDiff = Math.max(maxDiff, Math.abs(commit.pcm24k[i]! - whole[i]!));
    expect(maxDiff).toBeLessThanOrEqual(2);
    // the next onset empties the server's buffer first
    const clears = fake.realtime.sessions.at(-1)!.clears;
    speak(asr, 2, 300);
    await asr.transcribe(2, new AbortController().signal, batch);
    expect(fake.realtime.sessions.at(-1)!.clears).toBe(clears + 1);
    expect(fake.realtime.commits().at(-1)!.pcm24k.length).toBe(300 * 24);
  });

  it('falls back to the batch upload at once when the transcription fails', async () => {
    const { asr, socket } = makeAsr({ waitMs: 5000 });
    asr.open();
    await ready(socket);
    fake.realtime.nextCommits.push('fail');
    speak(asr, 1, 500);
    const { calls, batch } = batchSpy();
    const startedMs = performance.now();
    const result = await asr.transcribe(1, new AbortController().signal, batch);
    expect(result).toEqual({ text: 'from the batch', via: 'batch', fallbackReason: 'stream-failed' });
    expect(calls).toHaveLength(1);
    // it did not sit out the 5 s wait: the failure started the batch
    expect(performance.now() - startedMs).toBeLessThan(4000);
  });

  it('falls back to the batch upload when the socket closes at the commit, and reconnects for the next turn', async () => {
    const { asr, socket } = makeAsr({ waitMs: 5000 });
    asr.open();
    await ready(socket);
    fake.realtime.nextCommits.push('close');
    speak(asr, 1, 500);
    const { calls, batch } = batchSpy();
    expect(await asr.transcribe(1, new AbortController().signal, batch)).toMatchObject({ via: 'batch', fallbackReason: 'stream-failed' });
    expect(calls).toHaveLength(1);
    await ready(socket);
    expect(socket.connections).toBe(2);
    speak(asr, 2, 500);
    expect(await asr.transcribe(2, new AbortController().signal, batch)).toMatchObject({ via: 'stream' });
    expect(calls).toHaveLength(1);
  });

  it('sends a turn that began while the socket was refused to the batch upload, and tries again with a backoff', async () => {
    fake.realtime.refuseUpgrades = 2;
    const { asr, socket } = makeAsr({ minReconnectDelayMs: 100 });
    asr.open();
    await fake.realtime.waitFor(() => fake.realtime.refusedUpgrades >= 1);
    speak(asr, 1, 500);
    const { calls, batch } = batchSpy();
    expect(await asr.transcribe(1, new AbortController().signal, batch)).toEqual({ text: 'from the batch', via: 'batch', fallbackReason: 'not-streamed' });
    expect(calls).toHaveLength(1);
    // refused twice (100 ms, then 200 ms of backoff), then connected
    await ready(socket);
    expect(socket.connections).toBe(3);
    speak(asr, 2, 500);
    expect(await asr.transcribe(2, new AbortController().signal, batch)).toMatchObject({ via: 'stream' });
  });

  it('starts the batch upload when the streamed transcript is late, and a hung server is recycled', async () => {
    const { asr, socket } = makeAsr({ waitMs: 100, stallTimeoutMs: 300 });
    asr.open();
    await ready(socket);
    fake.realtime.behaviour = 'hang';
    speak(asr, 1, 500);
    const { calls, batch } = batchSpy('late but there', 50);
    expect(await asr.transcribe(1, new AbortController().signal, batch)).toEqual({ text: 'late but there', via: 'batch', fallbackReason: 'stream-late' });
    expect(calls).toHaveLength(1);
    // no transcript 300 ms after the commit: the socket is closed and a new one opened
    const session = fake.realtime.sessions.at(-1)!;
    await fake.realtime.waitFor(() => !session.isOpen, 3000);
    fake.realtime.behaviour = 'ok';
    await ready(socket);
    expect(socket.connections).toBe(2);
  });

  it('takes the streamed transcript when it beats a slow batch upload, and aborts the upload', async () => {
    const realtime = fake.realtime;
    const delayMs = realtime.options.delayMs;
    realtime.options.delayMs = 300;
    try {
      const { asr, socket } = makeAsr({ waitMs: 100 });
      asr.open();
      await ready(socket);
      speak(asr, 1, 500);
      const { calls, batch } = batchSpy('too slow', 3000);
      const result = await asr.transcribe(1, new AbortController().signal, batch);
      expect(result.via).toBe('stream');
      expect(calls).toHaveLength(1);
      expect(calls[0]?.aborted).toBe(true);
    } finally {
      realtime.options.delayMs = delayMs;
    }
  });

  it("ends at the turn's budget when the stream and the batch upload both hang", async () => {
    const { asr, socket } = makeAsr({ waitMs: 50, stallTimeoutMs: 10_000 });
    asr.open();
    await ready(socket);
    fake.realtime.behaviour = 'hang';
    speak(asr, 1, 500);
    const budget = new AbortController();
    setTimeout(() => budget.abort(new DeadlineExceeded(1700, 'turn')), 300);
    let batchSignal: AbortSignal | undefined;
    const hungBatch = (signal: AbortSignal): Promise<string> => {
      batchSignal = signal;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('upload aborted')), { once: true }));
    };
    await expect(asr.transcribe(1, budget.signal, hungBatch)).rejects.toMatchObject({ kind: 'timeout' });
    expect(batchSignal?.aborted).toBe(true);
  });

  it("gives up at once when the turn is aborted (a barge-in or the turn's budget)", async () => {
    const { asr, socket } = makeAsr({ waitMs: 5000 });
    asr.open();
    await ready(socket);
    fake.realtime.behaviour = 'hang';
    speak(asr, 1, 500);
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('barge-in')), 50);
    const { calls, batch } = batchSpy();
    await expect(asr.transcribe(1, abort.signal, batch)).rejects.toMatchObject({ kind: 'aborted' });
    expect(calls).toHaveLength(0);
  });
});
