// The provider seams of the AI pipeline (Transcriber, Responder, Synthesizer) and their errors. The agent itself
// implements the call engine's contract, src/call/agent-contract.ts (Agent, AgentContext, CallerTurn, ...).

// ---------------------------------------------------------------------------------------------------------------
// Provider seams of the AI pipeline (issue 5). Implementations live in src/agent/<provider>-*.ts; fakes in tests.

export type SampleRateHz = 8000 | 16000 | 24000 | 48000;

/** Why a provider call failed, and whether trying again can help (timeouts and 5xx can; 4xx cannot). */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    message: string,
    readonly provider: string,
    readonly kind: 'timeout' | 'http' | 'network' | 'aborted' | 'bad-response',
    readonly isRetryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface TranscribeRequest {
  /** 16 kHz mono 16-bit WAV file bytes (built in the DSP pool). */
  wav16k: Uint8Array;
  /** The provider's own language code (e.g. Whisper "he"). */
  language: string;
  /** Aborted on barge-in and when the turn's budget runs out (its reason is then a DeadlineExceeded). */
  signal: AbortSignal;
  /** performance.now() by which the turn's budget runs out: the transcription, retry included, ends by then too. */
  deadlineAtMs?: number;
}

export interface Transcriber {
  readonly name: string;
  /** A turn's audio -> text ('' when nothing was said). */
  transcribe(request: TranscribeRequest): Promise<string>;
}

/** A function call the model asked for (OpenAI's `tool_calls` entry), its arguments still the model's JSON text. */
export interface ToolCallRequest {
  id: string;
  name: string;
  argumentsJson: string;
}

/**
 * One message of the conversation, in OpenAI's chat format: an assistant message may carry the tool calls it made
 * (its content then is what was said with them, often ''), and each call's result follows as a `tool` message.
 */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCallRequest[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** A function the model may call: OpenAI's function tool (`parameters` is a JSON schema object). */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** What a streamed reply is made of: text as it arrives, and each tool call once its arguments are complete. */
export type ResponderEvent =
  | { kind: 'text'; delta: string }
  | ({ kind: 'tool-call' } & ToolCallRequest)
  /** Which provider is answering, when a fail-over chain (failover.ts) chose one; before its first text or call. */
  | { kind: 'served'; provider: string };

export interface RespondOptions {
  /** The functions the model may call this time (none: a plain reply). */
  tools?: readonly ToolDefinition[];
}

export interface Responder {
  readonly name: string;
  /** The conversation -> the reply, as events while the model streams them (text deltas, completed tool calls). */
  respond(messages: readonly ChatMessage[], signal: AbortSignal, options?: RespondOptions): AsyncIterable<ResponderEvent>;
}

export interface SynthesisResult {
  /** Raw PCM (no WAV header) at sampleRateHz, or 8 kHz mu-law when encoding is 'mulaw'. */
  audio: Int16Array | Uint8Array;
  encoding: 'pcm16' | 'mulaw';
  sampleRateHz: SampleRateHz;
}

/** One piece of a sentence's audio as a provider streams it; every piece of one sentence has the same format. */
export interface SynthesisChunk extends SynthesisResult {
  /**
   * The whole sentence in one piece (a provider that cannot stream, inside a fail-over chain): it is converted in
   * the DSP pool like synthesize()'s result, not piece by piece in the calling thread.
   */
  isWhole?: boolean;
  /** Which provider sent it, when a fail-over chain (failover.ts) chose one. */
  provider?: string;
}

/**
 * At most this much audio per sentence (a sentence is at most ~160 characters, well under 20 s of speech): a
 * provider that streams on and on is cut off there instead of filling the playout's memory (sentence-audio.ts; a
 * streaming synthesizer may bound its own reading by it too).
 */
export const MAX_SENTENCE_AUDIO_MS = 60_000;

export interface Synthesizer {
  readonly name: string;
  /** Text -> audio at a stated rate. */
  synthesize(text: string, signal: AbortSignal): Promise<SynthesisResult>;
  /**
   * Optional, for providers that stream: the sentence's audio piece by piece as it is synthesized, so that its start
   * plays before its end exists. Aborting `signal` ends the request (its socket closes). A failure before the first
   * piece is like synthesize()'s; one after it means the rest of the sentence is lost (the pipeline keeps what came).
   */
  synthesizeStream?(text: string, signal: AbortSignal): AsyncIterable<SynthesisChunk>;
}
