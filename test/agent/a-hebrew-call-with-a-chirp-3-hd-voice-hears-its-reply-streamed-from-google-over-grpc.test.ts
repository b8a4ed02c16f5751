// The whole AI pipeline (buildAgent, the real DSP pool, the real SDKs against the local fakes) with a Chirp 3: HD
// Google voice: a Hebrew reply's sentences are synthesized over gRPC's StreamingSynthesize (the fake gRPC server gets
// them, numbers written out in words as the speech-text seam makes them; the REST fake gets only the whole lines
// cached for later, the fallback line and the filler), and each is played piece by piece (more enqueued pieces than
// sentences; the log's TTS_SUCCESS says isStreamed and google-tts), through the default fail-over chain (Google, then
// OpenAI). No connection leaves 127.0.0.1.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeGoogleTtsGrpc, type FakeGoogleTtsGrpc } from '../fakes/google-tts-grpc-server.js';
import { hebrewTurn, startToolRig, type ToolRig } from './tools/harness.js';

const REPLY = 'יש לנו תור פנוי ב-3 בדצמבר. אפשר לקבוע לך אותו?';

let grpcFake: FakeGoogleTtsGrpc;
let rig: ToolRig;

beforeAll(async () => {
  grpcFake = await startFakeGoogleTtsGrpc({ msPerChar: 30 });
  rig = await startToolRig({ reply: () => REPLY }, { GOOGLE_TTS_VOICE: 'he-IL-Chirp3-HD-Kore', GOOGLE_TTS_GRPC_ENDPOINT: grpcFake.endpointUrl, GREETING: '' });
});

afterAll(async () => {
  await rig?.close();
  await grpcFake?.close();
});

it("streams a Hebrew reply's sentences from Google over gRPC and plays each piece by piece", async () => {
  const { agent, ctx } = await rig.newCall();
  const callsBefore = grpcFake.calls.length;
  await agent.onTurn(hebrewTurn(1), new AbortController().signal);
  const said = ctx.event('TTS_SUCCESS').filter((line) => String(line['utteranceId']).startsWith('reply-1'));
  expect(said.map((line) => [line['provider'], line['isStreamed']])).toEqual([['google-tts', true], ['google-tts', true]]);
  const texts = grpcFake.calls.slice(callsBefore).flatMap((call) => call.texts);
  expect(texts).toHaveLength(2);
  expect(texts.join(' ')).not.toMatch(/\d/); // "3" read as a word, as the Hebrew speech-text seam writes it
  expect(texts[0]).toContain('בדצמבר');
  expect(grpcFake.calls.slice(callsBefore).every((call) => call.isComplete && !call.wasCancelled)).toBe(true);
  // REST serves only the whole lines cached for later (the fallback line, the filler), never the reply
  expect(rig.google.texts().filter((text) => text.includes('בדצמבר') || text.includes('לקבוע'))).toEqual([]);
  const enqueued = ctx.played.filter((p) => p.id.startsWith('reply-1') && p.type === 'enqueue');
  expect(enqueued.length).toBeGreaterThan(2);
  expect(enqueued.every((p) => p.bytes % 160 === 0)).toBe(true);
  agent.onCallEnd('stop');
});
