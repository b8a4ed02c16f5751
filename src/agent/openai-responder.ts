// The reply, streamed: chat.completions.create with stream: true through the official `openai` SDK, yielding each
// content delta as it arrives so that the pipeline can cut sentences and start speaking before the model finishes,
// and each tool call once it is whole. OpenAI streams a tool call in pieces: the first chunk for an `index` carries
// its id and function name, later ones more of the arguments' JSON text, so the pieces are put together by index and
// the calls handed on when the choice finishes (or the stream ends). How much the model may send is bounded: at most
// MAX_TOOL_CALLS_PER_REPLY calls, and arguments past MAX_TOOL_ARGUMENT_CHARS are cut (which makes them bad JSON: the
// tool dispatcher answers the model with an error).
// The time limit is on silence, not on the whole reply: the first token must come within timeoutMs, and so must
// every following chunk (a model that stalls mid-reply is cut, a long reply that keeps flowing is not). The SDK ends
// an aborted stream without throwing, so the end of the loop checks why it ended.
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { startDeadline, toProviderError } from './provider-call.js';
import type { ChatMessage, Responder, ResponderEvent, RespondOptions, ToolCallRequest } from './types.js';

/** Tool calls taken from one reply; more are dropped. */
export const MAX_TOOL_CALLS_PER_REPLY = 8;
/** Characters of one tool call's arguments kept (a phone agent's arguments are a few hundred). */
export const MAX_TOOL_ARGUMENT_CHARS = 16_384;
/** Characters kept of a tool call's id and of its name (OpenAI's are a few dozen). */
const MAX_TOOL_CALL_ID_CHARS = 128;

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

/** The conversation in the API's shape. */
export function toOpenAIMessages(messages: readonly ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    switch (m.role) {
      case 'tool':
        return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
      case 'assistant':
        if (m.toolCalls !== undefined && m.toolCalls.length > 0) {
          return {
            role: 'assistant', content: m.content.length > 0 ? m.content : null,
            tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.argumentsJson } })),
          };
        }
        return { role: 'assistant', content: m.content };
      default:
        return { role: m.role, content: m.content };
    }
  });
}

/** Puts streamed tool-call pieces together by their index. */
class ToolCallAssembler {
  private readonly calls = new Map<number, ToolCallRequest>();

  add(piece: { index?: number; id?: string; function?: { name?: string; arguments?: string } }): void {
    const index = typeof piece.index === 'number' ? piece.index : this.calls.size;
    let call = this.calls.get(index);
    if (call === undefined) {
      if (this.calls.size >= MAX_TOOL_CALLS_PER_REPLY) return;
      call = { id: '', name: '', argumentsJson: '' };
      this.calls.set(index, call);
    }
    if (typeof piece.id === 'string' && piece.id.length > 0) call.id = piece.id.slice(0, MAX_TOOL_CALL_ID_CHARS);
    const name = piece.function?.name;
    if (typeof name === 'string' && name.length > 0) call.name = (call.name + name).slice(0, MAX_TOOL_CALL_ID_CHARS);
    const args = piece.function?.arguments;
    if (typeof args === 'string' && call.argumentsJson.length < MAX_TOOL_ARGUMENT_CHARS) {
      call.argumentsJson = (call.argumentsJson + args).slice(0, MAX_TOOL_ARGUMENT_CHARS);
    }
  }

  /** The calls so far, in index order (each with an id: the model's, or one made up), and forgets them. */
  take(): ToolCallRequest[] {
    const taken = [...this.calls.entries()].sort((a, b) => a[0] - b[0])
      .map(([index, call]) => ({ ...call, id: call.id.length > 0 ? call.id : `call_${index}` }));
    this.calls.clear();
    return taken;
  }
}

export class OpenAIResponder implements Responder {
  readonly name = 'openai-llm';
  private readonly options: OpenAIResponderOptions;

  constructor(options: OpenAIResponderOptions) {
    this.options = options;
  }

  async *respond(messages: readonly ChatMessage[], signal: AbortSignal, respondOptions?: RespondOptions): AsyncIterable<ResponderEvent> {
    const { client, model, timeoutMs, maxTokens = 300, temperature } = this.options;
    const tools: ChatCompletionTool[] = (respondOptions?.tools ?? []).map((t) => ({
      type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
    const deadline = startDeadline(signal, timeoutMs);
    const assembler = new ToolCallAssembler();
    try {
      const stream = await client.chat.completions.create(
        {
          model,
          messages: toOpenAIMessages(messages),
          stream: true,
          max_completion_tokens: maxTokens,
          ...(tools.length > 0 ? { tools } : {}),
          ...(temperature !== undefined ? { temperature } : {}),
        },
        // the SDK's own timeout only covers the response head; ours covers the stream too
        { signal: deadline.signal, maxRetries: 0, timeout: timeoutMs + 1000 },
      );
      for await (const chunk of stream) {
        deadline.restart();
        const choice = chunk.choices[0];
        const content = choice?.delta?.content;
        if (typeof content === 'string' && content.length > 0) yield { kind: 'text', delta: content };
        for (const piece of choice?.delta?.tool_calls ?? []) assembler.add(piece);
        if (choice?.finish_reason !== null && choice?.finish_reason !== undefined) {
          for (const call of assembler.take()) yield { kind: 'tool-call', ...call };
        }
      }
      if (deadline.signal.aborted) throw toProviderError(this.name, deadline.signal.reason, deadline);
      // a stream that ended without a finish_reason: what came whole is still handed on
      for (const call of assembler.take()) yield { kind: 'tool-call', ...call };
    } catch (error) {
      throw toProviderError(this.name, error, deadline);
    } finally {
      deadline.dispose();
    }
  }
}
