// The composition root of one edge thread's call engine (the session module every edge thread loads; main.ts passes
// its URL): it builds the thread's parts from the config and hands each what it needs, and nothing reaches into
// another part's internals: the clock and the batched DSP go to the registry; the agent's factory (the echo agent, or
// the AI pipeline with its DSP pool and provider SDKs, loaded only then) goes to the registry too; the metrics get
// the clock and a reader of the DSP batch count; the edge gets the CallEngine (sessions, counters, shutdown). With
// RECORD_AUDIO=on the registry also gets the audio taps (src/recording/), whose blocks leave through the engine's
// subscribeRecording (the edge thread posts them to the main thread's writer).
import { buildAgent } from './agent/factory.js';
import { callerLookupThrough } from './agent/tools/caller-lookup.js';
import { InboundBatcher } from './audio/dsp.js';
import { CallRegistry, createThreadClock, DEFAULT_MAX_CALLS_PER_THREAD, DEFAULT_MAX_FRAMES_PER_BATCH } from './call/registry.js';
import type { CallEngine } from './call/types.js';
import type { RecordingMessage } from './recording/messages.js';
import { createAudioTaps } from './recording/stream-audio-blocks.js';
import { CallEventBus } from './control/bus.js';
import type { CallEngineContext } from './edge/call-engine-module.js';
import type { CallBrief, CallInfo } from './call/agent-contract.js';
import { LAUNCH_ID, LAUNCH_PARAM } from './control/outbound-briefs.js';
import { ErrorKind, LogEvent, log as rootLog, type Logger } from './observability/log.js';
import { countEarlyReply, countInterruption, countProviderError, countProviderFailover, observeCallEngine, observeTurnLatency } from './observability/metrics.js';

export async function createCallEngine({ config, threadIndex, outboundBriefFor, queryRecords }: CallEngineContext): Promise<CallEngine> {
  const log = rootLog.child({ threadIndex });
  const clock = createThreadClock(log);
  const batcher = new InboundBatcher({ maxSlots: DEFAULT_MAX_CALLS_PER_THREAD, maxFramesPerTick: DEFAULT_MAX_FRAMES_PER_BATCH });
  const agent = await buildAgent(config, {
    metrics: { observeTurnLatency, countProviderError, countFailover: countProviderFailover, countInterruption, countSpeculation: countEarlyReply },
    ...(outboundBriefFor !== undefined ? { briefFor: briefLookup(outboundBriefFor, log) } : {}),
    ...(queryRecords !== undefined ? { lookupCaller: callerLookupThrough(queryRecords) } : {}),
  });
  const events = new CallEventBus();
  const recordingListeners = new Set<(messages: RecordingMessage[]) => void>();
  // The blocks of one pass go out together once it is over (a post costs far more than a block's copy: bench/RESULTS).
  let recordingBatch: RecordingMessage[] = [];
  const flushRecording = (): void => {
    const batch = recordingBatch;
    recordingBatch = [];
    for (const listener of recordingListeners) {
      try {
        listener(batch);
      } catch (error) {
        log.error({ event: LogEvent.RECORDING_DROPPED, errKind: ErrorKind.INTERNAL, err: error }, 'a recording listener threw');
      }
    }
  };
  const audioTaps = config.recordAudio.enabled
    ? createAudioTaps((message) => {
      if (recordingBatch.push(message) === 1) queueMicrotask(flushRecording);
    }, { leadFrames: config.playout.leadFrames })
    : undefined;
  const registry = new CallRegistry({
    config, clock, batcher, agentFactory: agent.agentFactory, log, threadIndex, events, agentKind: config.agent.kind,
    maxCalls: DEFAULT_MAX_CALLS_PER_THREAD, maxFramesPerBatch: DEFAULT_MAX_FRAMES_PER_BATCH,
    ...(audioTaps !== undefined ? { audioTaps } : {}),
  });
  const stopObserving = observeCallEngine({ clock, readDspBatches: () => registry.dspBatches });
  return {
    sessionFactory: registry.sessionFactory,
    readStats: () => registry.stats() as unknown as Record<string, number>,
    subscribe: (listener) => events.subscribe(listener),
    subscribeRecording: (listener) => {
      recordingListeners.add(listener);
      return () => recordingListeners.delete(listener);
    },
    command: (callSid, command) => registry.command(callSid, command),
    async shutdown() {
      registry.shutdown();
      stopObserving();
      await agent.release();
    },
  };
}

/** A call's brief when it was placed through the API with one (its launch id is a stream parameter). */
function briefLookup(outboundBriefFor: (launchId: string) => Promise<CallBrief | undefined>, log: Logger): (call: CallInfo) => Promise<CallBrief | undefined> {
  return async (call) => {
    const launchId = call.customParameters[LAUNCH_PARAM];
    if (launchId === undefined || !LAUNCH_ID.test(launchId)) return undefined;
    const brief = await outboundBriefFor(launchId);
    if (brief === undefined) {
      log.warn({ event: LogEvent.AGENT_GREETING, callSid: call.callSid, launchId }, "the placed call's brief is not here (expired, or the call was placed by another instance); the agent starts without it");
    }
    return brief;
  };
}
