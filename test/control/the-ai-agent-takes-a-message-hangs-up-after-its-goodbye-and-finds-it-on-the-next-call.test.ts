// A whole call through the real server (signatures on, the AI agent with the real SDKs against the local fakes, the
// Twilio REST API at a local fake): the caller asks to leave a message; the model calls take_message (its arguments
// streamed in pieces), answers, and calls end_call with a goodbye. The goodbye is spoken after the answer, the
// Twilio call is completed through the REST API only after the goodbye's mark came back (the caller heard it), the
// stream ends, and the message is in the call's record (GET /api/calls/{sid}, an event of kind `message`) and in
// GET /api/messages. When the
// same number calls again, the model looks the caller up (lookup_caller: the edge thread asks the main thread's
// records) and is given the earlier call with the message in its summary, and answers with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { Caller, type CallerResult } from '../../src/cli/caller.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { newSid, TwilioRestFake } from '../fakes/twilio-rest-server.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, silenceFrames, splice } from '../integration/reference-calls.js';

const ACCOUNT_SID = 'AC' + 'd'.repeat(32);
const AUTH_TOKEN = 'tools-e2e-auth-token-93c1';
const PUBLIC_BASE_URL = 'https://tools.example.test';
const API_KEY = 'tools-e2e-api-key-0123456789abcdef';
const STREAM_TOKEN_SECRET = 'tools-e2e-stream-token-secret';
const CALLER_NUMBER = '+972501112233';
const MESSAGE_ARGS = { message: 'תתקשרו אליי מחר בבוקר לגבי ההזמנה', name: 'דנה', callbackNumber: CALLER_NUMBER };
const ANSWER = 'רשמתי את ההודעה שלך.';
const GOODBYE = 'תודה דנה, להתראות!';
const ANSWER_2 = 'ראיתי שהשארת הודעה, נחזור אלייך מחר בבוקר.';

const he = loadReferenceCall('conv-he');
const [utt1 = [25, 248]] = he.utteranceFrames;
const audio = splice(silenceFrames(80), framesOf(he.audio, utt1[0], utt1[1]), silenceFrames(50));

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let twilio: TwilioRestFake;
let server: RunningServer;
let result: CallerResult;
const callSid = newSid('CA');
/** Wall time at which the caller sent back each mark (after playing its audio). */
const markEchoedAtMs = new Map<string, number>();

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({
    transcript: () => 'אני רוצה להשאיר הודעה',
    reply: (index) => [
      { toolCalls: [{ id: 'call_msg', name: 'take_message', arguments: JSON.stringify(MESSAGE_ARGS) }] },
      { text: ANSWER, toolCalls: [{ id: 'call_end', name: 'end_call', arguments: JSON.stringify({ goodbye: GOODBYE }) }] },
      // the second call
      { toolCalls: [{ id: 'call_lookup', name: 'lookup_caller', arguments: '{}' }] },
      { text: ANSWER_2, toolCalls: [{ id: 'call_end_2', name: 'end_call', arguments: '{}' }] },
    ][index] ?? 'כן.',
    chunkChars: 4, chunkDelayMs: 3,
  });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 30 });
  twilio = await new TwilioRestFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }).listen();
  twilio.addCall({ sid: callSid, from: CALLER_NUMBER });
  server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
      TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_ACCOUNT_SID: ACCOUNT_SID, PUBLIC_BASE_URL, TWILIO_API_BASE_URL: twilio.baseUrl,
      STREAM_TOKEN_SECRET, CONTROL_API_KEY: API_KEY, GREETING: 'שלום!', SYSTEM_PROMPT: 'You are a test receptionist.',
      // a generous turn budget: two chat rounds on a shared machine; this test is about the tools, not the deadline
      ASR_TIMEOUT_MS: '1500', LLM_TIMEOUT_MS: '1500', TTS_TIMEOUT_MS: '1500', TURN_DEADLINE_MS: '4000',
    }),
  });
  result = await call(callSid);
}, 40_000);

/** One call from CALLER_NUMBER, as Twilio would stream it (signed, with its stream token). */
function call(sid: string): Promise<CallerResult> {
  const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL.replace('https', 'wss')}/ws/twilio-media`, {});
  return new Caller({
    url: `${server.wsBaseUrl}/ws/twilio-media`, audio, signature, streamTokenSecret: STREAM_TOKEN_SECRET, callSid: sid, accountSid: ACCOUNT_SID,
    from: CALLER_NUMBER, customParameters: { from: CALLER_NUMBER }, tailMs: 10_000,
    onEvent: (event) => {
      if (event.type === 'mark-echoed' && event.detail !== undefined) markEchoedAtMs.set(event.detail, Date.now());
    },
  }).run();
}

afterAll(async () => {
  await server?.stop();
  await twilio?.close();
  await openaiFake?.close();
  await googleFake?.close();
});

const describeCall = () => JSON.stringify({
  marks: result.marksReceived, echoed: result.marksEchoed, close: result.closeCode,
  logs: server.logs().filter((l) => /TOOL|CALL_COMMAND|LLM|FALLBACK|ERROR|TTS/.test(String(l['event']))),
});

describe('the AI agent takes a message and ends the call', () => {
  it('the model gets the message\'s result back and answers, and the goodbye is spoken after the answer', () => {
    const bodies = openaiFake.chatBodies();
    expect(bodies, describeCall()).toHaveLength(2);
    const tool = bodies[1]!.messages.at(-1)!;
    expect(tool).toMatchObject({ role: 'tool', tool_call_id: 'call_msg' });
    expect(JSON.parse(tool.content ?? '')).toEqual({ ok: true, value: { saved: true } });
    expect(result.marksReceived, describeCall()).toEqual(['greeting', 'reply-1-2', expect.stringMatching(/^goodbye-/)]);
    expect(googleFake.texts()).toEqual(expect.arrayContaining([ANSWER, GOODBYE]));
  });

  it('completes the Twilio call through the REST API only after the goodbye\'s mark came back, and the stream ends', async () => {
    const goodbyeMark = result.marksReceived.at(-1) ?? '';
    const echoedAtMs = markEchoedAtMs.get(goodbyeMark);
    expect(echoedAtMs, describeCall()).toBeDefined();
    const findHangUp = () => twilio.requests.find((r) => r.path.endsWith(`/Calls/${callSid}.json`) && r.form['Status'] === 'completed');
    // the REST request and the stream's close leave the server together: the request may land just after the close
    const deadline = Date.now() + 5000;
    while (findHangUp() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const hangUp = findHangUp();
    expect(hangUp, describeCall()).toBeDefined();
    expect(twilio.requests.filter((r) => r.path.endsWith(`/Calls/${callSid}.json`))).toHaveLength(1);
    expect(hangUp!.receivedAtMs).toBeGreaterThanOrEqual(echoedAtMs!);
    expect(twilio.calls.get(callSid)?.status).toBe('completed');
    expect(result.closeCode).toBe(1000);
  });

  it('keeps the message in the call\'s record, listed by the API with the call\'s events', async () => {
    const deadline = Date.now() + 5000;
    let events: Array<{ kind: string; data: Record<string, unknown> }> = [];
    while (Date.now() < deadline) {
      const answer = await fetch(`${server.baseUrl}/api/calls/${callSid}`, { headers: { Authorization: `Bearer ${API_KEY}`, connection: 'close' } });
      if (answer.status === 200) {
        events = ((await answer.json()) as { events: typeof events }).events;
        if (events.some((e) => e.kind === 'message') && events.some((e) => e.kind === 'hang-up')) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(events.find((e) => e.kind === 'message')?.data).toEqual(MESSAGE_ARGS);
    expect(events.find((e) => e.kind === 'hang-up')?.data).toEqual({ reason: 'agent-end-call' });
    // and in the list of messages, with the caller's number
    const list = await fetch(`${server.baseUrl}/api/messages?limit=10`, { headers: { Authorization: `Bearer ${API_KEY}`, connection: 'close' } });
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({
      messages: [{ callSid, from: CALLER_NUMBER, at: expect.any(String), ...MESSAGE_ARGS }],
      next: null,
    });
  });

  it('on the next call from the number, the model looks the caller up and is told of the earlier call and its message', async () => {
    const secondSid = newSid('CA');
    twilio.addCall({ sid: secondSid, from: CALLER_NUMBER });
    const second = await call(secondSid);
    const bodies = openaiFake.chatBodies();
    expect(bodies, describeCall()).toHaveLength(4);
    const lookup = bodies[3]!.messages.at(-1)!;
    expect(lookup).toMatchObject({ role: 'tool', tool_call_id: 'call_lookup' });
    const found = JSON.parse(lookup.content ?? '') as { ok: boolean; value: { from: string; earlierCalls: Array<Record<string, unknown>> } };
    expect(found.ok).toBe(true);
    expect(found.value.from).toBe(CALLER_NUMBER);
    // this call is not among them; the first one is, with the message it left
    expect(found.value.earlierCalls.map((c) => c['callSid'])).toEqual([callSid]);
    expect(found.value.earlierCalls[0]).toMatchObject({ direction: 'inbound', endReason: 'hang-up' });
    expect(String(found.value.earlierCalls[0]!['summary'])).toContain(`message left: ${MESSAGE_ARGS.message}`);
    expect(googleFake.texts().join(' ')).toContain(ANSWER_2);
    expect(second.marksReceived.at(-1)).toMatch(/^goodbye-/);
    expect(second.closeCode).toBe(1000);
  });
});
