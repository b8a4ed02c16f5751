// Providers that fail over: one stage (speech synthesis here) served by an ordered list of providers. A sentence
// goes to the first one that is not resting; when it fails in a way another provider could avoid (a timeout, an HTTP
// error, a lost connection, a reply it could not read), the next one is asked within the same turn, under the same
// signal (a barge-in, a hang-up or the turn's deadline ends the whole attempt: no provider is asked after that).
// A provider that failed RESTING_FAILURES times in a row rests for RESTING_MS, so that a dead provider does not eat
// every turn's budget; after its rest it is asked again (one success ends the rest). The result says who served it.
// Streamed synthesis (synthesizeStream) fails over the same way while no piece of the sentence has been passed on;
// a provider that cannot stream answers its whole sentence as one piece (isWhole). A stream that fails after its
// first piece is not started again elsewhere (the caller heard its start in one voice): it counts as that
// provider's failure and the error goes to the pipeline, which keeps what was heard and goes on to the next sentence.
import { isDeadlineAbort } from './provider-call.js';
import { ProviderError, type ChatMessage, type RespondOptions, type Responder, type ResponderEvent, type SynthesisChunk, type SynthesisResult, type Synthesizer } from './types.js';

/** Consecutive failures after which a provider rests. */
export const RESTING_FAILURES = 3;
export const RESTING_MS = 30_000;

/** Told of each fail-over (metrics, logs): `from` failed with `error`, `to` is asked next. */
export type FailoverObserver = (stage: 'tts' | 'llm', from: string, to: string, error: ProviderError) => void;

export interface ServedSynthesis extends SynthesisResult {
  /** The provider that synthesized it. */
  provider: string;
}

interface ProviderHealth {
  consecutiveFailures: number;
  restingUntilMs: number;
}

export class FailoverSynthesizer implements Synthesizer {
  readonly name: string;
  private readonly health: ProviderHealth[];

  constructor(
    private readonly providers: readonly Synthesizer[],
    private readonly options: { onFailover?: FailoverObserver; nowMs?: () => number } = {},
  ) {
    if (providers.length === 0) throw new RangeError('a fail-over needs at least one provider');
    this.name = providers.map((p) => p.name).join('>');
    this.health = providers.map(() => ({ consecutiveFailures: 0, restingUntilMs: 0 }));
  }

  /** Provider indexes in the order to ask them now: resting providers go last rather than not at all. */
  private order(): number[] {
    const nowMs = this.options.nowMs?.() ?? Date.now();
    return this.providers.map((_, index) => index)
      .sort((a, b) => Number(this.health[a]!.restingUntilMs > nowMs) - Number(this.health[b]!.restingUntilMs > nowMs));
  }

  private recordFailure(index: number): void {
    const health = this.health[index]!;
    health.consecutiveFailures++;
    if (health.consecutiveFailures >= RESTING_FAILURES) health.restingUntilMs = (this.options.nowMs?.() ?? Date.now()) + RESTING_MS;
  }

  async *synthesizeStream(text: string, signal: AbortSignal): AsyncIterable<SynthesisChunk> {
    const order = this.order();
    let lastError: unknown;
    for (let k = 0; k < order.length; k++) {
      const index = order[k]!;
      const provider = this.providers[index]!;
      let hasYielded = false;
      try {
        const chunks = provider.synthesizeStream !== undefined ? provider.synthesizeStream(text, signal) : wholeAsStream(provider, text, signal);
        for await (const chunk of chunks) {
          hasYielded = true;
          yield { ...chunk, provider: provider.name };
        }
        if (!hasYielded) throw new ProviderError(`${provider.name}: no audio for the sentence`, provider.name, 'bad-response', true);
        this.health[index] = { consecutiveFailures: 0, restingUntilMs: 0 };
        return;
      } catch (error) {
        lastError = error;
        if (signal.aborted || isDeadlineAbort(signal)) throw error;
        this.recordFailure(index);
        const next = order[k + 1];
        // mid-sentence: the caller heard this voice begin it; no other voice finishes it
        if (hasYielded || next === undefined || !canAnotherProviderHelp(error)) throw error;
        this.options.onFailover?.('tts', provider.name, this.providers[next]!.name, error);
      }
    }
    throw lastError;
  }

  async synthesize(text: string, signal: AbortSignal): Promise<ServedSynthesis> {
    const order = this.order();
    let lastError: unknown;
    for (let k = 0; k < order.length; k++) {
      const index = order[k]!;
      const provider = this.providers[index]!;
      try {
        const result = await provider.synthesize(text, signal);
        this.health[index] = { consecutiveFailures: 0, restingUntilMs: 0 };
        return { ...result, provider: provider.name };
      } catch (error) {
        lastError = error;
        // the caller's own end (barge-in, hang-up, the turn's deadline) is nobody's failure, and ends the attempt
        if (signal.aborted || isDeadlineAbort(signal)) throw error;
        this.recordFailure(index);
        const next = order[k + 1];
        if (next === undefined || !canAnotherProviderHelp(error)) throw error;
        this.options.onFailover?.('tts', provider.name, this.providers[next]!.name, error as ProviderError);
      }
    }
    throw lastError;
  }
}

/**
 * The reply, from an ordered list of chat providers (a second model): the next is asked only while nothing of the
 * reply has been passed on (a reply that fails half-way is not started again elsewhere: the caller heard its start).
 * The first event says which provider answers.
 */
export class FailoverResponder implements Responder {
  readonly name: string;

  constructor(private readonly providers: readonly Responder[], private readonly options: { onFailover?: FailoverObserver } = {}) {
    if (providers.length === 0) throw new RangeError('a fail-over needs at least one provider');
    this.name = providers.map((p) => p.name).join('>');
  }

  async *respond(messages: readonly ChatMessage[], signal: AbortSignal, options?: RespondOptions): AsyncIterable<ResponderEvent> {
    for (let k = 0; k < this.providers.length; k++) {
      const provider = this.providers[k]!;
      let hasYielded = false;
      try {
        for await (const event of provider.respond(messages, signal, options)) {
          if (!hasYielded) yield { kind: 'served', provider: provider.name };
          hasYielded = true;
          yield event;
        }
        if (!hasYielded) yield { kind: 'served', provider: provider.name };
        return;
      } catch (error) {
        const next = this.providers[k + 1];
        if (hasYielded || signal.aborted || next === undefined || !canAnotherProviderHelp(error)) throw error;
        this.options.onFailover?.('llm', provider.name, next.name, error);
      }
    }
  }
}

/** A provider that cannot stream: its whole sentence as the one piece of a stream. */
async function* wholeAsStream(provider: Synthesizer, text: string, signal: AbortSignal): AsyncIterable<SynthesisChunk> {
  yield { ...(await provider.synthesize(text, signal)), isWhole: true };
}

/** Whether another provider might succeed where this one failed (not when the request itself was refused as bad). */
export function canAnotherProviderHelp(error: unknown): error is ProviderError {
  if (!(error instanceof ProviderError)) return false;
  if (error.kind === 'aborted') return false;
  // a 400 says the text or settings were refused: another provider may well take them (its own voice, its own rules)
  return true;
}
