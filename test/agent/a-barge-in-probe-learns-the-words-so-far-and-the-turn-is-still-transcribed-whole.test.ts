// A barge-in's probe over the realtime socket (StreamingAsr.commitBargeInProbe against the fake realtime
// transcription server, a real WebSocket on 127.0.0.1): the audio so far is committed and its words come back, then
// the same audio is appended again, so that the turn's own commit holds the whole turn (the first samples are the
// probe's, exactly) and the turn's transcript never contains the probe's words. With an early reply's segment
// before it, the probe covers only what followed the segment, and the turn's transcript is the segment's words and
// its end's, as without a probe. At most one probe a turn; none for a turn with less than 100 ms to commit, one that
// sent more than MAX_PROBE_REPLAY_MS since its last commit, another turn's id, or a turn that did not begin over the
// agent (whose audio is then not kept for a replay at all).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIRealtimeTranscriber } from '../../src/agent/openai-realtime-transcriber.js';
import { MAX_PROBE_REPLAY_MS, StreamingAsr } from '../../src/agent/streaming-asr.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { sleep } from '../fakes/http-fake.js';

const RATE_24K_PER_MS = 24;
let fake: FakeOpenAI;
const opened: StreamingAsr[] = [];

beforeAll(async () => {
  // each commit's words say how much audio it held
  fake = await startFakeOpenAI({ realtime: { transcript: (_index, pcm24k) => `samples ${pcm24k.length}`, delayMs: 20 } });
});
afterEach(() => {
  for (const asr of opened.splice(0)) asr.close();
});
afterAll(async () => {
  await fake?.close();
});

async function openAsr(): Promise<StreamingAsr> {
  const socket = new OpenAIRealtimeTranscriber({ baseUrl: fake.baseUrl, apiKey: 'test', model: 'gpt-4o-mini-transcribe', language: 'he' });
  const asr = new StreamingAsr(socket, 2000);
  opened.push(asr);
  asr.open();
  for (let i = 0; i < 200 && !socket.isReady; i++) await sleep(10);
  expect(socket.isReady).toBe(true);
  return asr;
}

/** A turn's audio: a 440 Hz tone at 8 kHz, handed over in 100 ms batches; `from` continues the tone's phase. */
function say(asr: StreamingAsr, turnId: number, ms: number, fromMs = 0): void {
  const pcm = new Int16Array(ms * 8);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i + fromMs * 8)) / 8000));
  for (let at = 0; at < pcm.length; at += 800) asr.onTurnAudio(turnId, pcm.subarray(at, Math.min(pcm.length, at + 800)));
}

const batchNeverUsed = async (): Promise<string> => {
  throw new Error('the batch route was not expected');
};
const lastCommit = () => fake.realtime.commits().at(-1)!;

describe("a barge-in's probe", () => {
  it("commits the audio so far for its words; the turn's own commit still gets all of it, and only its words", async () => {
    const asr = await openAsr();
    asr.onTurnStarted(1);
    say(asr, 1, 300);
    const sentBeforeProbe = asr.samplesSent;
    const words = asr.commitBargeInProbe(1);
    expect(words).toBeDefined();
    expect(await words).toBe(`samples ${sentBeforeProbe}`);
    const probe = lastCommit();
    expect(probe.pcm24k.length).toBe(sentBeforeProbe);
    // one probe a turn
    expect(asr.commitBargeInProbe(1)).toBeUndefined();
    say(asr, 1, 500, 300);
    const result = await asr.transcribe(1, new AbortController().signal, batchNeverUsed);
    const turn = lastCommit();
    // the whole turn (800 ms: exactly 3 samples per input sample), its start the probe's audio again
    expect(turn.pcm24k.length).toBe(800 * RATE_24K_PER_MS);
    expect(Array.from(turn.pcm24k.subarray(0, probe.pcm24k.length))).toEqual(Array.from(probe.pcm24k));
    expect(result).toEqual({ text: `samples ${800 * RATE_24K_PER_MS}`, via: 'stream' });
    expect(asr.probes).toBe(1);
  });

  it("after an early reply's segment covers what followed it only; the turn joins the segment and its end, never the probe", async () => {
    const asr = await openAsr();
    asr.onTurnStarted(2);
    say(asr, 2, 300);
    const segmentWords = asr.commitSegment(2);
    expect(segmentWords).toBeDefined();
    await segmentWords;
    const segment = lastCommit();
    asr.onTurnResumed(2);
    say(asr, 2, 200, 300);
    const words = asr.commitBargeInProbe(2);
    expect(await words).toBe(`samples ${200 * RATE_24K_PER_MS}`);
    say(asr, 2, 300, 500);
    const result = await asr.transcribe(2, new AbortController().signal, batchNeverUsed);
    const end = lastCommit();
    // the segment and the end hold the turn once: 800 ms, no sample twice, none lost
    expect(segment.pcm24k.length + end.pcm24k.length).toBe(800 * RATE_24K_PER_MS);
    expect(result).toEqual({ text: `samples ${segment.pcm24k.length} samples ${end.pcm24k.length}`, via: 'stream' });
  });

  it('is not made for too little audio, for more than a replay keeps, or for another turn', async () => {
    const asr = await openAsr();
    const commitsBefore = fake.realtime.commits().length;
    asr.onTurnStarted(3);
    say(asr, 3, 60); // less than the 100 ms the API commits
    expect(asr.commitBargeInProbe(3)).toBeUndefined();
    expect(asr.commitBargeInProbe(4)).toBeUndefined();
    say(asr, 3, MAX_PROBE_REPLAY_MS + 100, 60);
    expect(asr.commitBargeInProbe(3)).toBeUndefined();
    // the turn itself is streamed and transcribed as ever
    const result = await asr.transcribe(3, new AbortController().signal, batchNeverUsed);
    expect(result.via).toBe('stream');
    expect(fake.realtime.commits().length).toBe(commitsBefore + 1);
    // the next turn may be probed again
    asr.onTurnStarted(4);
    say(asr, 4, 300);
    expect(asr.commitBargeInProbe(4)).toBeDefined();
  });

  it('none for a turn that did not begin over the agent: its audio is not kept for a replay, and it is transcribed as ever', async () => {
    const asr = await openAsr();
    asr.onTurnStarted(5, false);
    say(asr, 5, 300);
    expect(asr.commitBargeInProbe(5)).toBeUndefined();
    expect((asr as unknown as { sinceCommitLength: number }).sinceCommitLength).toBe(0);
    const result = await asr.transcribe(5, new AbortController().signal, batchNeverUsed);
    expect(result).toEqual({ text: `samples ${300 * RATE_24K_PER_MS}`, via: 'stream' });
    expect(asr.probes).toBe(0);
    // the next turn over the agent keeps its audio and may be probed
    asr.onTurnStarted(6, true);
    say(asr, 6, 300);
    expect(asr.commitBargeInProbe(6)).toBeDefined();
  });
});
