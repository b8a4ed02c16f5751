// The AI pipeline with tools, driven as the call engine drives it: a recording AgentContext (what was played, the
// reports, the commands the agent issued), the real DSP pool, and the real SDKs against the local fakes (OpenAI's
// streamed tool calls, Google TTS). Each test scripts the model's replies (text or tool calls) and may add tools of
// its own beside the built-ins. No connection leaves 127.0.0.1.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { buildAgent } from '../../../src/agent/factory.js';
import type { PipelineAgent, PipelineOptions } from '../../../src/agent/pipeline.js';
import type { Tool } from '../../../src/agent/tools/types.js';
import type { CallerLookup } from '../../../src/agent/tools/built-ins.js';
import type { AgentContext, AgentReport, CallerTurn, HeardInfo } from '../../../src/call/agent-contract.js';
import type { CallCommand, CommandResult } from '../../../src/call/events.js';
import { mulawDecode } from '../../../src/audio/dsp.js';
import { DspPool } from '../../../src/audio/pool.js';
import { loadConfig } from '../../../src/config.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../../fakes/loopback-guard.js';
import { startFakeOpenAI, type FakeOpenAIOptions, type FakeOpenAI } from '../../fakes/openai-server.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';

export type Played = { type: 'enqueue' | 'end' | 'play'; id: string; bytes: number; atMs: number };

export class RecordingContext implements AgentContext {
  readonly call: { callSid: string; streamSid: string; accountSid: string; customParameters: Record<string, string> } = { callSid: 'CAtools', streamSid: 'MZtools', accountSid: 'ACtools', customParameters: { from: '+972501112233' } };
  readonly played: Played[] = [];
  readonly lines: Array<Record<string, unknown>> = [];
  readonly reports: AgentReport[] = [];
  readonly commands: CallCommand[] = [];
  readonly log: Logger;
  private readonly controller = new AbortController();
  readonly signal: AbortSignal = this.controller.signal;

  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    this.log = pino({ level: 'debug' }, sink);
  }

  play(mulaw: Uint8Array, id: string): void { this.played.push({ type: 'play', id, bytes: mulaw.length, atMs: performance.now() }); }
  enqueue(mulaw: Uint8Array, id: string): void { this.played.push({ type: 'enqueue', id, bytes: mulaw.length, atMs: performance.now() }); }
  endUtterance(id: string): void { this.played.push({ type: 'end', id, bytes: 0, atMs: performance.now() }); }
  stopPlayback(): HeardInfo { return { atMs: 0, utterances: [], framesHeard: 0 }; }
  get isPlaying(): boolean { return false; }
  hangUp(): void { this.controller.abort(new Error('hang-up')); }
  report(report: AgentReport): void { this.reports.push(report); }
  command(command: CallCommand): CommandResult {
    this.commands.push(command);
    return { ok: true };
  }
  endCall(): void { this.controller.abort(new Error('call ended')); }

  event(name: string): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l['event'] === name);
  }
}

const conv = new Uint8Array(readFileSync(new URL('../../fixtures/conv-he.8k.ul', import.meta.url)));

/** The Hebrew reference call's first utterance, as the engine hands a turn over. */
export function hebrewTurn(turnId: number): CallerTurn {
  const pcm8k = mulawDecode(conv.subarray(0.5 * 8000, 4.96 * 8000));
  return { turnId, pcm8k, startMs: 500, endMs: 4960, durationMs: Math.round(pcm8k.length / 8), endReason: 'silence', peakDbfs: -6, meanDbfs: -24, wasBargeIn: false };
}

export interface ToolRig {
  openai: FakeOpenAI;
  google: FakeGoogleTts;
  newCall(options?: {
    tools?: Tool[]; pipeline?: Partial<PipelineOptions>; transfers?: Record<string, string>; lookupCaller?: CallerLookup;
    customParameters?: Record<string, string>;
  }): Promise<{ agent: PipelineAgent; ctx: RecordingContext }>;
  close(): Promise<void>;
}

const NO_METRICS = { observeTurnLatency: () => {}, countProviderError: () => {} };

export async function startToolRig(openaiOptions: FakeOpenAIOptions, env: Record<string, string> = {}): Promise<ToolRig> {
  const guard: LoopbackGuard = guardLoopbackOnly();
  const account = fakeServiceAccount();
  const openai = await startFakeOpenAI({ transcript: () => 'אני רוצה להשאיר הודעה', chunkChars: 4, chunkDelayMs: 2, ...openaiOptions });
  const google = await startFakeGoogleTts({ account, msPerChar: 20 });
  const pool = new DspPool({ threads: 1 });
  const config = loadConfig({
    INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openai.baseUrl, GOOGLE_TTS_API_ENDPOINT: google.endpointUrl,
    GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: account.json, LANGUAGE: 'he', SYSTEM_PROMPT: 'You are a test agent.',
    ASR_TIMEOUT_MS: '1500', LLM_TIMEOUT_MS: '1500', TTS_TIMEOUT_MS: '1500', TURN_DEADLINE_MS: '5000', EDGE_THREADS: '1', DSP_THREADS: '1',
    ...env,
  });
  return {
    openai,
    google,
    async newCall(options = {}) {
      const built = await buildAgent(config, {
        audio: pool, metrics: NO_METRICS, ...(options.tools !== undefined ? { tools: options.tools } : {}),
        ...(options.transfers !== undefined ? { transfers: options.transfers } : {}), ...(options.pipeline !== undefined ? { pipeline: options.pipeline } : {}),
        ...(options.lookupCaller !== undefined ? { lookupCaller: options.lookupCaller } : {}),
      });
      const ctx = new RecordingContext();
      if (options.customParameters !== undefined) ctx.call.customParameters = options.customParameters;
      const agent = built.agentFactory(ctx.call) as PipelineAgent;
      await agent.onCallStart(ctx);
      return { agent, ctx };
    },
    async close() {
      await openai.close();
      await google.close();
      await pool.destroy();
      guard.restore();
      if (guard.escapes.length > 0) throw new Error(`connections left 127.0.0.1: ${JSON.stringify(guard.escapes)}`);
    },
  };
}

/** Resolves once `predicate` holds (polled), or rejects after `timeoutMs` saying `what`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
