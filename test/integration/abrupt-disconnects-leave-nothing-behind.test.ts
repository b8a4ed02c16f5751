// Callers that vanish, through the real server (two edge threads): several sockets destroyed in the same instant,
// without `stop` or a WebSocket close frame, while the server is in the middle of each kind of work: playing an
// echo (frames in flight, a mark pending), capturing a caller's turn, holding a started call with no media yet, and a
// socket that has only said `connected`. Afterwards /version must show no call on the edge or in the call engine
// within a few seconds, the server must log no error, and a new call must work end to end.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Caller, type CallerResult } from '../../src/cli/caller.js';
import { serializeConnected } from '../../src/twilio/caller-messages.js';
import { connectWs, startServer, type RunningServer } from '../helpers/server.js';
import {
  framesOf,
  loadReferenceCall,
  mediaUrl,
  readCounters,
  runCall,
  silenceFrames,
  splice,
  waitUntilNoCalls,
  type VersionCounters,
} from './reference-calls.js';

const MID_PLAYBACK_CALLS = 3;
/** How long into the echo the sockets are destroyed. */
const INTO_PLAYBACK_MS = 300;
/** How long the server may take to notice and clean up. */
const CLEANUP_WITHIN_MS = 5_000;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { EDGE_THREADS: '2', LOG_LEVEL: 'warn' } });
});

afterAll(async () => {
  await server?.stop();
});

/** A Caller that runs until it is hung up; `onPlaybackStart` is told when its echo starts. */
function callerWith(audio: Uint8Array, onPlaybackStart?: () => void): { caller: Caller; run: Promise<CallerResult> } {
  const caller = new Caller({
    url: mediaUrl(server),
    audio,
    tailMs: 60_000, // never reached: these calls are hung up
    onEvent: (event) => {
      if (event.type === 'playback-start') onPlaybackStart?.();
    },
  });
  return { caller, run: caller.run() };
}

it('leaves no call behind after sockets are destroyed mid-call, and serves a new call', async () => {
  const en = loadReferenceCall('conv-en');
  const [firstStart, firstEnd] = en.utteranceFrames[0] as [number, number];
  // the first utterance, then silence while its echo plays (it is hung up long before the end)
  const speakThenListen = splice(framesOf(en.audio, 0, firstEnd + 5), silenceFrames(250));
  // silence first, so that the utterance is still being captured when the others are mid-echo
  const stillSpeaking = splice(silenceFrames(firstEnd - firstStart), framesOf(en.audio, 0, firstEnd + 5));

  let playing = 0;
  let allPlaying!: () => void;
  const isEveryEchoPlaying = new Promise<void>((resolve) => (allPlaying = resolve));
  const midPlayback = Array.from({ length: MID_PLAYBACK_CALLS }, () =>
    callerWith(speakThenListen, () => {
      if (++playing === MID_PLAYBACK_CALLS) allPlaying();
    }),
  );
  const midTurn = callerWith(stillSpeaking);
  const startedWithoutMedia = callerWith(new Uint8Array(0));
  const connectedOnly = await connectWs(mediaUrl(server), { protocols: 'audio.twilio.com' });
  connectedOnly.send(serializeConnected());

  await isEveryEchoPlaying;
  await new Promise((done) => setTimeout(done, INTO_PLAYBACK_MS));
  const live = await readCounters(server);
  const callers = [...midPlayback, midTurn, startedWithoutMedia];
  // all at once, in one turn of the event loop: no stop, no close frame, just gone
  for (const { caller } of callers) caller.hangUp();
  connectedOnly.ws.terminate();
  const results = await Promise.all(callers.map(({ run }) => run));
  await connectedOnly.closed;

  // the setup held: every started socket was a live call on the server (the connected-only one is not a call until
  // its start, so it only waits for it), the echoes were mid-playback
  expect(live.activeCalls).toBe(callers.length);
  expect(live.call['liveSessions']).toBe(callers.length);
  expect(live.socketsAwaitingStart).toBe(1);
  for (const result of results.slice(0, MID_PLAYBACK_CALLS)) {
    expect(result.playbacks.length).toBe(1);
    expect(result.framesReceived).toBeGreaterThan(0);
    expect(result.marksReceived).toEqual([]); // the echo had not finished
  }
  expect(results[MID_PLAYBACK_CALLS]?.framesReceived).toBe(0); // still speaking: nothing to echo yet

  const after: VersionCounters = await waitUntilNoCalls(server, CLEANUP_WITHIN_MS);
  expect(after.activeCalls, JSON.stringify(after)).toBe(0);
  expect(after.call['liveSessions'], JSON.stringify(after)).toBe(0);
  expect(after.socketsAwaitingStart, JSON.stringify(after)).toBe(0);
  expect(after.callsTotal).toBe(callers.length);
  expect(after.call['agentErrors']).toBe(0);
  expect(after.call['clockHandlerErrors']).toBe(0);

  // a new call after all that: its turn comes back whole, its mark is heard
  const he = loadReferenceCall('conv-he');
  const [secondStart, secondEnd] = he.utteranceFrames[1] as [number, number];
  const fresh = await runCall(server, splice(silenceFrames(10), framesOf(he.audio, secondStart - 3, secondEnd + 3), silenceFrames(50)), {
    tailMs: 2_500,
  });
  expect(fresh.playbacks.length, JSON.stringify(fresh.events)).toBe(1);
  expect(Math.abs(fresh.framesReceived - (secondEnd - secondStart)) / (secondEnd - secondStart)).toBeLessThanOrEqual(0.25);
  expect(fresh.marksEchoed).toHaveLength(1);
  expect(fresh.wrongStreamSid).toBe(0);
  expect(fresh.closeCode).toBe(1000);

  const end = await waitUntilNoCalls(server, CLEANUP_WITHIN_MS);
  expect(end.activeCalls).toBe(0);
  expect(end.callsTotal).toBe(callers.length + 1);
  expect(end.call).toMatchObject({ liveSessions: 0, marksHeard: 1 });

  // nothing went wrong on the way: the process is up and logged no error
  expect(server.child.exitCode).toBeNull();
  const errors = server.logs().filter((line) => line['level'] === 'error' || line['level'] === 'fatal' || Number(line['level']) >= 50);
  expect(errors).toEqual([]);
});
