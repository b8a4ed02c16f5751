// The keyless default agent: it plays each caller turn back once the turn has ended. It implements the same Agent
// interface as the AI pipeline, so that the whole media path (handshake, decode, VAD, turns, playout, marks,
// barge-in) runs and is tested without any provider. DTMF digits are logged.
import { mulawEncodeInto } from '../audio/dsp.js';
import { LogEvent } from '../observability/log.js';
import { SAMPLE_RATE_HZ } from '../twilio/media-format.js';
import type { Agent, AgentContext, AgentFactory, CallerTurn, HeardInfo } from '../call/agent-contract.js';

/**
 * The thread's encode buffer, shared by its calls: ctx.play copies the bytes into the playout at once, so a turn's
 * mu-law needs no array of its own (fewer typed arrays, fewer full GCs under load).
 */
let scratch = new Uint8Array(SAMPLE_RATE_HZ * 10); // 10 s of mu-law, grown when a turn is longer

function encodeToScratch(pcm: Int16Array): Uint8Array {
  if (scratch.length < pcm.length) scratch = new Uint8Array(Math.max(pcm.length, scratch.length * 2));
  const out = scratch.subarray(0, pcm.length);
  mulawEncodeInto(pcm, out);
  return out;
}

export class EchoAgent implements Agent {
  private ctx: AgentContext | null = null;

  onCallStart(ctx: AgentContext): void {
    this.ctx = ctx;
  }

  /** Per turn: the turn's 8 kHz PCM -> mu-law frames -> playout (its mark follows). */
  onTurn(turn: CallerTurn, signal: AbortSignal): void {
    const ctx = this.ctx;
    if (ctx === null || signal.aborted || turn.pcm8k.length === 0) return;
    ctx.play(encodeToScratch(turn.pcm8k), `echo-${turn.turnId}`);
  }

  onDtmf(digit: string): void {
    this.ctx?.log.info({ event: LogEvent.WS_DTMF, digit, agent: 'echo' }, 'dtmf digit');
  }

  onBargeIn(_heard: HeardInfo): void {
    // Nothing in flight: the echo was already queued, and the playout has cleared it.
  }

  onCallEnd(): void {
    this.ctx = null;
  }
}

export const createEchoAgent: AgentFactory = () => new EchoAgent();
