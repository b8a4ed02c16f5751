// One load step end to end, as `npm run bench:load` runs it but small: the built harness (dist/bench/load: the
// coordinator, its generator worker thread on raw TCP, the server launcher) against the real built server with
// EDGE_THREADS=1 and then against the calibration server, 4 calls each on 127.0.0.1. Only behaviour is checked, never
// a timing: every call is answered and stays up, the echo of the caller's first utterance comes back whole in content
// (nothing lost, nothing repeated) and is timed (pacing samples, a finite echo delay), /proc gives finite server CPU
// and RSS, and judge() finds nothing wrong beyond, possibly, the pacing bound of a noisy machine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/server.js';

// The harness must run from dist/: LoadGenerator starts its threads from ./worker.js next to the compiled sweep.js.
// `npm test` builds dist/ first. The specifiers are URLs so that tsc does not resolve them (dist/ is its own output).
type Sweep = typeof import('../../bench/load/sweep.js');
type Servers = typeof import('../../bench/load/servers.js');
const { LoadGenerator, runStep, judge } = (await import(new URL('../../dist/bench/load/sweep.js', import.meta.url).href)) as Sweep;
const { startServer } = (await import(new URL('../../dist/bench/load/servers.js', import.meta.url).href)) as Servers;

type Generator = Awaited<ReturnType<Sweep['LoadGenerator']['create']>>;
type StepResult = Awaited<ReturnType<Sweep['runStep']>>;

const N = 4;
const BOUND = { pacingP99Ms: 5 };

/** judge()'s failures other than the pacing bound, which a busy shared machine may break. */
const failuresBesidesPacing = (r: StepResult): string[] => r.failures.filter((f) => !f.startsWith('p99 pacing'));

let gen: Generator | undefined;

beforeAll(async () => {
  gen = await LoadGenerator.create(1);
});
afterAll(async () => {
  await gen?.close();
});

describe('one load step against ours', () => {
  it('opens every call, gets the first utterance echoed whole and timed, and reads the server from /proc', async () => {
    const port = await freePort();
    const server = await startServer('ours', { port, env: { EDGE_THREADS: '1' } });
    let r: StepResult;
    try {
      // Call 0 starts at loop frame 0: its first utterance ends 5.3 s in, and its echo starts after the VAD hangover.
      // A 6.5 s window after 0.5 s of ramp and 0.5 s of settling ends well into that echo (the other calls start later
      // in the loop and are still talking or listening when the step hangs up).
      r = judge(await runStep(gen!, { name: 'ours', pid: server.pid, port }, N, { windowMs: 6500, settleMs: 500 }), BOUND);
      expect(server.hasExited(), server.logTail()).toBe(false);
    } finally {
      await server.stop();
    }

    expect(r).toMatchObject({ server: 'ours', n: N, callsOpened: N, handshakeFailed: 0, subprotocolMissing: 0, callsDropped: 0, protocolErrors: 0, badPayloads: 0 });
    expect(r.handshakeFailReasons).toEqual({});
    expect(r.mediaSent).toBeGreaterThan(0);
    expect(r.mediaReceived).toBeGreaterThan(0);

    // the echo: counted, paced, timed, and its content mapped back to the caller's frames without a gap or a repeat
    expect(r.pacingSamples).toBeGreaterThan(0);
    for (const v of [r.pacingP50Ms, r.pacingP99Ms, r.pacingMaxMs]) expect(Number.isFinite(v)).toBe(true);
    expect(r.pacingP50Ms).toBeLessThanOrEqual(r.pacingP99Ms);
    expect(r.pacingP99Ms).toBeLessThanOrEqual(r.pacingMaxMs);
    expect(r.echoDelaySamples).toBeGreaterThan(0);
    expect(Number.isFinite(r.echoDelayP50Ms) && Number.isFinite(r.echoDelayP99Ms)).toBe(true);
    expect(r.echoDelayP50Ms).toBeGreaterThan(0);
    expect(r.unexpectedPlaybacks).toBe(0);
    expect(r.contentCheckedPlaybacks).toBeGreaterThan(0);
    expect(r.contentUnmatchedFrames).toBe(0);
    expect(r.framesLost).toBe(0);
    expect(r.framesDuplicated).toBe(0);
    expect(r.expectedFramesPerUtterance).toHaveLength(2);   // conv-en's two utterances

    // the server, from /proc over the window
    for (const v of [r.serverCpuPct, r.serverCpuMsPerCallSecond, r.serverRssMb, r.serverRssBeforeMb, r.generatorCpuPct]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(r.serverCpuPct).toBeGreaterThan(0);
    expect(r.serverCpuMsPerCallSecond).toBeGreaterThan(0);
    expect(r.serverRssMb).toBeGreaterThan(0);
    expect(r.serverRssBeforeMb).toBeGreaterThan(0);
    expect(Object.keys(r.serverThreadsCpuMs)).toContain('main');
    expect(r.generatorElu).toHaveLength(1);
    expect(r.generatorThreadCpuPct).toHaveLength(1);
    expect(r.windowMs).toBeGreaterThan(0);

    expect(failuresBesidesPacing(r)).toEqual([]);
    expect(r.held).toBe(r.failures.length === 0);
  });
});

describe('one talk-over load step against ours', () => {
  it('sees every echo cut by a clear and accounts for each of its frames against the engine\'s turns', async () => {
    const port = await freePort();
    const server = await startServer('ours', { port, env: { EDGE_THREADS: '1' } });
    let r: StepResult;
    try {
      // conv-en as recorded, looped: each call hears an echo start and be cleared about every 6.3 s
      r = judge(await runStep(gen!, { name: 'ours', pid: server.pid, port }, N, { conversation: 'talk-over', windowMs: 9000, settleMs: 500 }), BOUND);
      expect(server.hasExited(), server.logTail()).toBe(false);
    } finally {
      await server.stop();
    }
    expect(r).toMatchObject({ conversation: 'talk-over', callsOpened: N, handshakeFailed: 0, callsDropped: 0, protocolErrors: 0, badPayloads: 0 });
    expect(r.clearsReceived).toBeGreaterThanOrEqual(N);
    const a = r.frames;
    expect(a.playbacks).toBeGreaterThanOrEqual(N);
    // every playback is an echo of the caller's audio, cut by its barge-in; it starts where one of the engine's turns
    // starts unless the generator stalled for over 300 ms (then the server fills the hole with silence and the turns
    // shift: "off the rule"; the in-process test pins the turns exactly)
    expect(a.playbacksUnmapped).toBe(0);
    expect(a.playbacksWhole + a.playbacksCut + a.playbacksOffRule).toBe(a.playbacks);
    expect(a.playbacksCut).toBeGreaterThan(0);
    expect(a.cutFramesReceived).toBeGreaterThan(0);
    expect(a.cutFramesDropped).toBeGreaterThan(0);
    expect(a.wholeFramesReceived).toBe(a.wholeFramesExpected);
    expect(a.framesBeyondTurn).toBe(0);
    expect(r.framesLost).toBe(0);
    expect(r.framesDuplicated).toBe(0);
    // the energy rule: every voiced frame is played or cut, none left out by the turn rule
    expect(a.voicedLeftOutByRule).toBe(0);
    expect(a.voicedPlayed + a.voicedCut).toBe(a.voicedFrames);
    expect(failuresBesidesPacing(r)).toEqual([]);
  });
});

describe('one load step against the calibration server', () => {
  it('times the frames of a server that only paces', async () => {
    const port = await freePort();
    const server = await startServer('calibration', { port });
    let r: StepResult;
    try {
      r = judge(await runStep(gen!, { name: 'calibration', pid: server.pid, port }, N, { windowMs: 2000, settleMs: 500 }), BOUND);
      expect(server.hasExited(), server.logTail()).toBe(false);
    } finally {
      await server.stop();
    }

    expect(r).toMatchObject({ server: 'calibration', n: N, callsOpened: N, handshakeFailed: 0, callsDropped: 0, protocolErrors: 0, badPayloads: 0 });
    expect(r.pacingSamples).toBeGreaterThan(0);
    expect(Number.isFinite(r.pacingP99Ms)).toBe(true);
    // it plays from the start of each call, unasked: every call's playback is one the caller did not cause
    expect(r.unexpectedPlaybacks).toBe(N);
    expect(r.echoDelaySamples).toBe(0);
    // its frames are digital silence, which the content check follows without counting anything lost
    expect(r.framesLost).toBe(0);
    expect(r.framesDuplicated).toBe(0);
    expect(Number.isFinite(r.serverRssMb) && r.serverRssMb > 0).toBe(true);
    expect(failuresBesidesPacing(r)).toEqual([]);
  });
});
