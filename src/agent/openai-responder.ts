// The reply, streamed: chat.completions.create with stream: true through the official `openai` SDK, yielding each
// content delta as it arrives so that the pipeline can cut sentences and start speaking before the model finishes.
// The time limit is on silence, not on the whole reply: the first token must come within timeoutMs, and so must
// every following chunk (a model that stalls mid-reply is cut, a long reply that keeps flowing is not). The SDK ends
// an aborted stream without throwing, so the end of the loop checks why it ended.
import OpenAI from 'openai';
import { startDeadline, toProviderError } from './provider-call.js';
import type { ChatMessage, Responder } from './types.js';

export interface OpenAIResponderOptions {
  client: OpenAI;
  /** e.g. gpt-4o-mini */
  model: string;
  /** Longest wait for the first token, and between two chunks. */
  timeoutMs: number;
  /** Upper bound on the reply's length in tokens (default 300: this is a phone call). */
  maxTokens?: number;
  temperature?: number;
}

export class OpenAIResponder implements Responder {
  readonly name = 'openai-llm';
  private readonly options: OpenAIResponderOptions;

  constructor(options: OpenAIResponderOptions) {
    this.options = options;
  }

  async *respond(messages: readonly ChatMessage[], signal: AbortSignal): AsyncIterable<string> {
    const { client, model, timeoutMs, maxTokens = 300, temperature } = this.options;
    const deadline = startDeadline(signal, timeoutMs);
    try {
      const stream = await client.chat.completions.create(
        {
          model,
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          stream: true,
          max_completion_tokens: maxTokens,
          ...(temperature !== undefined ? { temperature } : {}),
        },
        // the SDK's own timeout only covers the response head; ours covers the stream too
        { signal: deadline.signal, maxRetries: 0, timeout: timeoutMs + 1000 },
      );
      for await (const chunk of stream) {
        deadline.restart();
        const content = chunk.choices[0]?.delta?.content;
        if (typeof content === 'string' && content.length > 0) yield content;
      }
      if (deadline.signal.aborted) throw toProviderError(this.name, deadline.signal.reason, deadline);
    } catch (error) {
      throw toProviderError(this.name, error, deadline);
    } finally {
      deadline.dispose();
    }
  }
}
