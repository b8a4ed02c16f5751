// Providers that fail over: one stage (speech synthesis here) served by an ordered list of providers. A sentence
// goes to the first one that is not resting; when it fails in a way another provider could avoid (a timeout, an HTTP
// error, a lost connection, a reply it could not read), the next one is asked within the same turn, under the same
// signal (a barge-in, a hang-up or the turn's deadline ends the whole attempt: no provider is asked after that).
// A provider that failed RESTING_FAILURES times in a row rests for RESTING_MS, so that a dead provider does not eat
// every turn's budget; after its rest it is asked again (one success ends the rest). The result says who served it.
import { isDeadlineAbort } from './provider-call.js';
import { ProviderError, type SynthesisResult, type Synthesizer } from './types.js';

/** Consecutive failures after which a provider rests. */
export const RESTING_FAILURES = 3;
export const RESTING_MS = 30_000;

/** Told of each fail-over (metrics, logs): `from` failed with `error`, `to` is asked next. */
export type FailoverObserver = (stage: 'tts', from: string, to: string, error: ProviderError) => void;

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

  async synthesize(text: string, signal: AbortSignal): Promise<ServedSynthesis> {
    const nowMs = this.options.nowMs?.() ?? Date.now();
    // resting providers go last rather than not at all: when every provider rests, one is still asked
    const order = this.providers.map((_, index) => index)
      .sort((a, b) => Number(this.health[a]!.restingUntilMs > nowMs) - Number(this.health[b]!.restingUntilMs > nowMs));
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
        const health = this.health[index]!;
        health.consecutiveFailures++;
        if (health.consecutiveFailures >= RESTING_FAILURES) health.restingUntilMs = (this.options.nowMs?.() ?? Date.now()) + RESTING_MS;
        const next = order[k + 1];
        if (next === undefined || !canAnotherProviderHelp(error)) throw error;
        this.options.onFailover?.('tts', provider.name, this.providers[next]!.name, error as ProviderError);
      }
    }
    throw lastError;
  }
}

/** Whether another provider might succeed where this one failed (not when the request itself was refused as bad). */
export function canAnotherProviderHelp(error: unknown): error is ProviderError {
  if (!(error instanceof ProviderError)) return false;
  if (error.kind === 'aborted') return false;
  // a 400 says the text or settings were refused: another provider may well take them (its own voice, its own rules)
  return true;
}
