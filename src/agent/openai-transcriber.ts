// Speech recognition through the official `openai` SDK: a turn's 16 kHz WAV goes to audio.transcriptions.create as a
// multipart upload (toFile), with the model from config and the language SET (Whisper's "he"), never auto-detected:
// short Hebrew clips are often detected as English. The SDK's retries and 10-minute timeout are off; this class keeps
// one time budget per turn, and a failure that a retry can help (5xx, network, a timeout with budget left) is tried
// once more within that budget. The turn's AbortSignal reaches the HTTP request, so a barge-in closes the socket.
// A prompt (the agent file's vocabulary, speech-text.ts asrPromptOf) goes with every upload as Whisper's `prompt`,
// so that business and product names come back spelled as the business spells them.
import OpenAI, { toFile } from 'openai';
import { startDeadline, toProviderError } from './provider-call.js';
import { ProviderError, type TranscribeRequest, type Transcriber } from './types.js';

export interface OpenAITranscriberOptions {
  client: OpenAI;
  /** e.g. whisper-1 */
  model: string;
  /** Time budget for the whole transcription, retry included. */
  timeoutMs: number;
  /** Attempts in all (default 2: one retry). */
  maxAttempts?: number;
  /** A retry is made only when at least this much of the budget is left (default 300 ms). */
  minRetryBudgetMs?: number;
  /** Sent as the transcription's `prompt` (names to spell right); none when undefined or empty. */
  prompt?: string | undefined;
}

export class OpenAITranscriber implements Transcriber {
  readonly name = 'openai-asr';
  /** Attempts made by the last transcribe() (tests, logs). */
  lastAttempts = 0;
  private readonly options: Required<Omit<OpenAITranscriberOptions, 'prompt'>>;
  /** The prompt every upload carries (the agent file's vocabulary), if any. */
  readonly prompt: string | undefined;

  constructor(options: OpenAITranscriberOptions) {
    const { prompt, ...rest } = options;
    this.options = { maxAttempts: 2, minRetryBudgetMs: 300, ...rest };
    this.prompt = prompt !== undefined && prompt.trim().length > 0 ? prompt.trim() : undefined;
  }

  async transcribe(request: TranscribeRequest): Promise<string> {
    const { client, model, timeoutMs, maxAttempts, minRetryBudgetMs } = this.options;
    // its own budget, or what is left of the turn's when that ends sooner (a retry is only tried within both)
    const deadlineAtMs = Math.min(performance.now() + timeoutMs, request.deadlineAtMs ?? Infinity);
    let lastError: ProviderError | undefined;
    this.lastAttempts = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const budgetMs = Math.round(deadlineAtMs - performance.now());
      if (attempt > 1 && (budgetMs < minRetryBudgetMs || request.signal.aborted)) break;
      this.lastAttempts = attempt;
      const deadline = startDeadline(request.signal, Math.max(1, budgetMs));
      try {
        const file = await toFile(request.wav16k, 'turn.wav', { type: 'audio/wav' });
        const result = await client.audio.transcriptions.create(
          { file, model, language: request.language, response_format: 'json', ...(this.prompt !== undefined ? { prompt: this.prompt } : {}) },
          { signal: deadline.signal, maxRetries: 0, timeout: budgetMs + 1000 },
        );
        return (result.text ?? '').trim();
      } catch (error) {
        lastError = toProviderError(this.name, error, deadline);
        if (lastError.kind === 'aborted' || !lastError.isRetryable) throw lastError;
      } finally {
        deadline.dispose();
      }
    }
    throw lastError ?? new ProviderError(`${this.name}: no time left`, this.name, 'timeout', true);
  }
}
