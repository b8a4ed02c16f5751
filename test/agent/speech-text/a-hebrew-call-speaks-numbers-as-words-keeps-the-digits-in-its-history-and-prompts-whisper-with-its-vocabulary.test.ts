// A whole Hebrew call through the real server (real SDKs against the local fakes) with an agent file that lists a
// vocabulary: every transcription upload carries the names as Whisper's `prompt` (a multipart part of its own), the
// greeting and the replies reach Google TTS with their time, phone number and price written out in Hebrew words,
// while the conversation the model is asked with next keeps the model's own text, digits and all. With
// TTS_NORMALIZE_NUMBERS=off (over the file's normalizeNumbers: true) the TTS gets the digits as written, and a file
// without a vocabulary sends no prompt.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiServerEnv } from '../../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../../fakes/google-tts-server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../fakes/openai-server.js';
import { startServer, type RunningServer } from '../../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../../integration/reference-calls.js';

const he = loadReferenceCall('conv-he');
const [utt1 = [25, 248], utt2 = [348, 441]] = he.utteranceFrames;
// the greeting, utterance 1, room for reply 1 to play out, utterance 2
// (generous gaps: on a loaded machine a reply must still play out before the caller speaks again)
const audio = splice(silenceFrames(200), framesOf(he.audio, utt1[0], utt1[1]), silenceFrames(350), framesOf(he.audio, utt2[0], utt2[1]), silenceFrames(50));

const VOCABULARY = ['קליניקת לוי', 'ד"ר נועה לוי', 'Dentix Pro'];
const GREETING = 'שלום, הגעתם לקליניקת לוי. אנחנו פתוחים עד 19:30.';
const REPLY_1 = 'המשרד פתוח עד 17:00. אפשר להתקשר ל-03-5551234 והביקור עולה ₪120.';
const SPOKEN_GREETING = ['שלום, הגעתם לקליניקת לוי.', 'אנחנו פתוחים עד שבע וחצי בערב.'];
const SPOKEN_REPLY_1 = ['המשרד פתוח עד חמש אחר הצהריים.', 'אפשר להתקשר לאפס שלוש, חמש חמש חמש, אחת שתיים שלוש ארבע והביקור עולה מאה ועשרים שקל.'];
const WRITTEN_REPLY_1 = ['המשרד פתוח עד 17:00.', 'אפשר להתקשר ל-03-5551234 והביקור עולה ₪120.'];

function agentFile(lines: string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'aicrmd-speech-text-')), 'clinic.yaml');
  writeFileSync(path, ['language: he', `greeting: ${JSON.stringify(GREETING)}`, 'instructions: "Answer briefly."', ...lines, ''].join('\n'));
  return path;
}

interface Run { openaiFake: FakeOpenAI; googleFake: FakeGoogleTts; server: RunningServer; close(): Promise<void> }
async function runClinicCall(env: Record<string, string>): Promise<Run> {
  const account = fakeServiceAccount();
  const openaiFake = await startFakeOpenAI({ transcript: (index) => ['מתי אתם פתוחים?', 'תודה, להתראות.'][index] ?? 'כן', reply: (index) => (index === 0 ? REPLY_1 : 'להתראות.') });
  const googleFake = await startFakeGoogleTts({ account, msPerChar: 10 });
  const server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, { TURN_DEADLINE_MS: '4000', TTS_FALLBACK: 'none', ...env }),
  });
  await runCall(server, audio, { tailMs: 1500 });
  await waitUntilNoCalls(server, 5000);
  return {
    openaiFake, googleFake, server,
    async close() {
      await server.stop();
      await openaiFake.close();
      await googleFake.close();
    },
  };
}

describe('a Hebrew call with a vocabulary and number normalisation on (the default)', () => {
  let run: Run;
  beforeAll(async () => {
    run = await runClinicCall({ AGENT_FILE: agentFile(['vocabulary:', ...VOCABULARY.map((name) => `  - ${JSON.stringify(name)}`)]) });
  }, 60_000);
  afterAll(async () => {
    await run?.close();
  });

  it('sends the vocabulary with every upload as the prompt part of the multipart', () => {
    const uploads = run.openaiFake.uploads();
    expect(uploads.length).toBe(2);
    for (const upload of uploads) expect(upload.fields).toMatchObject({ model: 'whisper-1', language: 'he', prompt: VOCABULARY.join(', ') });
  });

  it('gives the TTS the greeting and the reply with the time, phone number and price in words', () => {
    const texts = run.googleFake.texts();
    expect(texts).toEqual(expect.arrayContaining([...SPOKEN_GREETING, ...SPOKEN_REPLY_1]));
    for (const text of texts) expect(text, 'no digit reaches the TTS').not.toMatch(/\d/);
  });

  it('keeps the model\'s own text, digits and all, in the conversation it is asked with next', () => {
    const second = run.openaiFake.chatBodies()[1];
    const said = second?.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
    const events = run.server.logs().filter((l) => /BARGE|TTS|FALLBACK|ERROR/.test(String(l['event'])));
    expect(said, JSON.stringify(events)).toEqual([GREETING, WRITTEN_REPLY_1.join(' ')]);
  });
});

describe('a Hebrew call with TTS_NORMALIZE_NUMBERS=off over the file\'s normalizeNumbers: true, and no vocabulary', () => {
  let run: Run;
  beforeAll(async () => {
    run = await runClinicCall({ AGENT_FILE: agentFile(['normalizeNumbers: true']), TTS_NORMALIZE_NUMBERS: 'off' });
  }, 60_000);
  afterAll(async () => {
    await run?.close();
  });

  it('gives the TTS the digits as written and sends no prompt', () => {
    expect(run.googleFake.texts()).toEqual(expect.arrayContaining(['אנחנו פתוחים עד 19:30.', ...WRITTEN_REPLY_1]));
    const uploads = run.openaiFake.uploads();
    expect(uploads.length).toBeGreaterThan(0);
    for (const upload of uploads) expect(upload.fields['prompt']).toBeUndefined();
  });
});
