// A full call through the real server (`node dist/src/main.js`, the call engine with the AI agent) and the
// Twilio-like Caller, with the real SDKs inside the server pointed at local fakes on 127.0.0.1: the Hebrew reference
// conversation's utterances (conv-he), spaced so that the greeting and the first reply play out, then the second
// utterance repeated while the second reply plays. Each turn is transcribed from a valid 16 kHz WAV with Hebrew set,
// the replies are synthesized by Google (LINEAR16 with its WAV header, which never reaches the caller) and played
// with marks; the caller's barge-in clears the line and, once its turn is transcribed as real words, aborts the
// streamed reply in flight (the fake sees its socket close); the next request carries only what the caller heard of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerResult } from '../../src/cli/caller.js';
import { CUT_MARK } from '../../src/agent/heard-text.js';
import { mulawDecode } from '../../src/audio/dsp.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

const FRAME_BYTES = 160;
const he = loadReferenceCall('conv-he');
const [utt1 = [25, 248], utt2 = [348, 441]] = he.utteranceFrames;
const TRANSCRIPTS = ['שלום, אני רוצה לקבוע תור למחר בבוקר בשעה עשר.', 'תודה רבה, להתראות.', 'רגע, עוד שאלה אחת.'];
const GREETING = 'שלום, במה אפשר לעזור?';
const REPLY_1 = 'בסדר, קבעתי.';
const REPLY_2_FIRST = 'רגע אחד, אני בודק את היומן שלנו.';
const REPLY_2 = `${REPLY_2_FIRST} ${'ואחר כך אני אבדוק גם את כל השעות הפנויות בשבוע הבא '.repeat(4)}`;
const REPLY_3 = 'להתראות!';

// 1.6 s for the greeting, utterance 1, 2 s for reply 1, utterance 2, 1.2 s, utterance 2 again (over reply 2)
const audio = splice(
  silenceFrames(80), framesOf(he.audio, utt1[0], utt1[1]), silenceFrames(100),
  framesOf(he.audio, utt2[0], utt2[1]), silenceFrames(60), framesOf(he.audio, utt2[0], utt2[1]), silenceFrames(20),
);

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let server: RunningServer;
let result: CallerResult;

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({
    transcript: (index) => TRANSCRIPTS[index] ?? 'עוד משהו',
    reply: (index) => [REPLY_1, REPLY_2, REPLY_3][index] ?? 'כן.',
    chunkChars: 3,
    // reply 2 is still streaming when the caller cuts in, and still when that turn is known to be real (the reply is
    // held until then: src/agent/barge-in-hold.ts), about 2.5 s later
    chunkDelayMs: (index) => (index === 1 ? 70 : 5),
  });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 40 });
  server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
      GREETING, SYSTEM_PROMPT: 'You are a test receptionist.',
      ASR_TIMEOUT_MS: '1500', LLM_TIMEOUT_MS: '1500', TTS_TIMEOUT_MS: '1500',
    }),
  });
  result = await runCall(server, audio, { tailMs: 2500 });
  await waitUntilNoCalls(server, 5000);
}, 40_000);

afterAll(async () => {
  await server?.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

const logs = (event: string) => server.logs().filter((l) => l['event'] === event);
const describeCall = () => JSON.stringify({ marks: result.marksReceived, echoed: result.marksEchoed, clears: result.clears, events: result.events,
  logs: server.logs().filter((l) => /ASR|TTS|LLM|BARGE|FALLBACK|ERROR|TURN|GREETING/.test(String(l['event']))) });

describe('a Hebrew call with the AI agent', () => {
  it('transcribes each turn from a valid 16 kHz WAV of it, with Hebrew set', () => {
    const uploads = openaiFake.uploads();
    expect(uploads.length, describeCall()).toBe(3);
    const expectedMs = [utt1[1] - utt1[0], utt2[1] - utt2[0], utt2[1] - utt2[0]].map((frames) => frames * 20);
    uploads.forEach((upload, i) => {
      expect(upload.wavError).toBeUndefined();
      expect(upload.wav).toMatchObject({ formatCode: 1, channels: 1, sampleRateHz: 16_000, bitsPerSample: 16 });
      expect(upload.fields).toMatchObject({ model: 'whisper-1', language: 'he' });
      const ms = (upload.wav?.samples.length ?? 0) / 16;
      expect(Math.abs(ms - (expectedMs[i] as number)) / (expectedMs[i] as number), `turn ${i + 1}: ${ms} ms`).toBeLessThan(0.25);
    });
    expect(logs('ASR_TEXT').map((l) => l['text'])).toEqual(TRANSCRIPTS);
    // whisper-1 (the default model) stays batch: no realtime session, every transcript from an upload
    expect(openaiFake.realtime.sessions).toHaveLength(0);
    expect(logs('ASR_TEXT').map((l) => l['via'])).toEqual(['batch', 'batch', 'batch']);
    for (const line of logs('ASR_TEXT')) expect(line['transcriptMs']).toBeTypeOf('number');
  });

  it('greets, answers, and plays each reply to its mark', () => {
    expect(result.marksReceived.slice(0, 2), describeCall()).toEqual(['greeting', 'reply-1']);
    expect(result.marksEchoed).toEqual(expect.arrayContaining(['greeting', 'reply-1', 'reply-3']));
    expect(result.marksReceived.at(-1)).toBe('reply-3');
    expect(googleFake.texts()).toEqual(expect.arrayContaining([GREETING, REPLY_1, REPLY_2_FIRST, REPLY_3]));
    expect(googleFake.badTokens).toBe(0);
    // the turn's latency, stage by stage, once its first frame was written to the caller's stream
    const first = logs('REPLY_FIRST_FRAME').find((l) => l['utteranceId'] === 'reply-1' && l['stage'] === 'first_frame');
    expect(Object.keys(first ?? {})).toEqual(expect.arrayContaining(['transcriptMs', 'firstTokenMs', 'firstAudioMs', 'firstFrameMs']));
    expect(Number(first?.['firstFrameMs'])).toBeGreaterThanOrEqual(Number(first?.['firstAudioMs']));
  });

  it('sends 160-byte mu-law frames for its stream, none of them a WAV header or its click', () => {
    expect(result.framesReceived).toBeGreaterThan(0);
    expect(result.badFrameSize).toBe(0);
    expect(result.wrongStreamSid).toBe(0);
    expect(result.invalidMessages).toBe(0);
    const bytes = result.receivedMulaw;
    for (let at = 0; at < bytes.length; at += FRAME_BYTES) {
      expect(Buffer.from(bytes.subarray(at, at + 4)).toString('latin1')).not.toBe('RIFF');
    }
    // the start of every playback is the quiet tone (a header read as PCM would be a full-scale click)
    let frame = 0;
    for (const playback of result.playbacks) {
      const pcm = mulawDecode(bytes.subarray(frame * FRAME_BYTES, (frame + 1) * FRAME_BYTES));
      expect(Math.max(...Array.from(pcm, Math.abs))).toBeLessThan(2600);
      frame += playback.length;
    }
  });

  it('a barge-in aborts the reply in flight and the next request keeps only what was heard', () => {
    expect(result.clears, describeCall()).toBeGreaterThanOrEqual(1);
    const chats = openaiFake.of(ROUTE_CHAT);
    expect(chats).toHaveLength(3);
    expect(chats[1]?.wasAbortedByClient).toBe(true);
    expect(chats[1]?.isComplete).toBe(false);
    const messages = openaiFake.chatBodies()[2]?.messages ?? [];
    expect(messages[0]).toEqual({ role: 'system', content: 'You are a test receptionist.' });
    expect(messages.slice(1, 5)).toEqual([
      { role: 'assistant', content: GREETING },
      { role: 'user', content: TRANSCRIPTS[0] },
      { role: 'assistant', content: REPLY_1 },
      { role: 'user', content: TRANSCRIPTS[1] },
    ]);
    expect(messages.at(-1)).toEqual({ role: 'user', content: TRANSCRIPTS[2] });
    // what the caller heard of reply 2: part of its first sentence, marked as cut (or nothing at all)
    const cut = messages.slice(5, -1);
    expect(cut.length).toBeLessThanOrEqual(1);
    if (cut[0] !== undefined) {
      expect(cut[0].role).toBe('assistant');
      const content = cut[0].content ?? '';
      expect(content.endsWith(CUT_MARK)).toBe(true);
      expect(REPLY_2_FIRST.startsWith(content.slice(0, -CUT_MARK.length))).toBe(true);
    }
    expect(logs('BARGE_IN').some((l) => l['utteranceId'] === 'reply-2' && typeof l['heardText'] === 'string')).toBe(true);
  });
});
