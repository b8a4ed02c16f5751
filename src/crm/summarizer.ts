// The end-of-call summary: the call's transcript (as its record keeps it: the caller's turns as transcribed, the
// agent's lines as heard) goes to the chat model with a JSON schema to fill through structured output: a short
// summary, a disposition from a fixed list, and the fields the agent file asks for (its own JSON schema). The reply
// is streamed like every other chat request here (a stall between chunks is cut) and validated before it is kept.
import type OpenAI from 'openai';
import { z } from 'zod';
import { startDeadline, toProviderError } from '../agent/provider-call.js';
import { ProviderError } from '../agent/types.js';
import type { CallRecord } from '../records/queries.js';

/** How a call ended, from the business's point of view. */
export const DISPOSITIONS = ['resolved', 'message-taken', 'transferred', 'callback-needed', 'voicemail', 'no-conversation', 'abandoned', 'other'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

export interface EndOfCallSummary {
  summary: string;
  disposition: Disposition;
  /** The agent file's fields, as the model filled them ({} when none were asked for). */
  fields: Record<string, unknown>;
}

export interface SummarizerOptions {
  client: OpenAI;
  model: string;
  /** Longest wait for the first chunk and between two chunks. */
  timeoutMs: number;
  /** The agent file's `summary.fields` (a JSON schema of type object); none: only summary and disposition. */
  fieldsSchema?: Record<string, unknown>;
  /** The call's language (the summary is written in it). */
  language?: string;
}

/** Transcript lines kept for the model at most (the newest are kept), and characters per line. */
const MAX_TRANSCRIPT_LINES = 200;
const MAX_LINE_CHARS = 1000;
const MAX_SUMMARY_CHARS = 2000;
const MAX_REPLY_CHARS = 32_000;

const SUMMARY_REPLY = z.object({
  summary: z.string().trim().min(1).max(MAX_SUMMARY_CHARS),
  disposition: z.enum(DISPOSITIONS),
  fields: z.record(z.string(), z.unknown()).optional(),
});

/** The transcript as the model reads it: one line per turn, with what the caller heard of a cut agent line. */
export function transcriptLines(call: Pick<CallRecord, 'turns'>): string[] {
  const lines = call.turns
    .filter((turn) => (turn.heardText ?? turn.text ?? '').trim().length > 0)
    .map((turn) => {
      const said = turn.role === 'agent' ? (turn.heardText ?? turn.text ?? '') : (turn.text ?? '');
      return `${turn.role === 'agent' ? 'Agent' : 'Caller'}: ${said.replace(/\s+/g, ' ').trim().slice(0, MAX_LINE_CHARS)}`;
    });
  return lines.slice(-MAX_TRANSCRIPT_LINES);
}

function responseSchema(fieldsSchema: Record<string, unknown> | undefined): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    summary: { type: 'string', description: 'Two or three sentences: who called, what they wanted, what was done or promised.' },
    disposition: { type: 'string', enum: [...DISPOSITIONS] },
  };
  if (fieldsSchema !== undefined) properties['fields'] = fieldsSchema;
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

/** Summarizes one ended call. Rejects with a ProviderError (timeout, HTTP, a reply that is not the schema's). */
export async function summarizeCall(call: CallRecord, options: SummarizerOptions, signal: AbortSignal): Promise<EndOfCallSummary> {
  const lines = transcriptLines(call);
  const facts = [
    `Direction: ${call.direction}`, `From: ${call.from ?? 'unknown'}`, `To: ${call.to ?? 'unknown'}`,
    `Duration: ${call.durationMs !== null ? `${Math.round(call.durationMs / 1000)} s` : 'unknown'}`, `Ended: ${call.endReason ?? 'unknown'}`,
    ...call.events.filter((e) => e.kind === 'transfer' || e.kind === 'message' || e.kind === 'voicemail').map((e) => `Event: ${e.kind} ${JSON.stringify(e.data)}`),
  ];
  const system = [
    'You write the record of a phone call answered by an AI agent for the business it works for.',
    `Write the summary in the call's language${options.language !== undefined ? ` (${options.language})` : ''}.`,
    'Use only what the transcript says; leave a field out of nothing (use null or an empty string when the call did not say it).',
    lines.length === 0 ? 'Nobody spoke on this call: the disposition is no-conversation.' : '',
  ].filter((line) => line.length > 0).join(' ');
  const user = `${facts.join('\n')}\n\nTranscript:\n${lines.length > 0 ? lines.join('\n') : '(none)'}`;
  const deadline = startDeadline(signal, options.timeoutMs);
  const provider = 'openai-summary';
  let reply = '';
  try {
    const stream = await options.client.chat.completions.create(
      {
        model: options.model,
        messages: [{ role: 'system', content: system }, { role: 'user', content: user }],
        stream: true,
        response_format: { type: 'json_schema', json_schema: { name: 'call_summary', schema: responseSchema(options.fieldsSchema), strict: false } },
      },
      { signal: deadline.signal, maxRetries: 0, timeout: options.timeoutMs + 1000 },
    );
    for await (const chunk of stream) {
      deadline.restart();
      const content = chunk.choices[0]?.delta?.content;
      if (typeof content === 'string') reply += content;
      if (reply.length > MAX_REPLY_CHARS) throw new ProviderError(`${provider}: the reply is longer than ${MAX_REPLY_CHARS} characters`, provider, 'bad-response', true);
    }
    if (deadline.signal.aborted) throw toProviderError(provider, deadline.signal.reason, deadline);
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    throw toProviderError(provider, error, deadline);
  } finally {
    deadline.dispose();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply);
  } catch {
    throw new ProviderError(`${provider}: the reply is not JSON (${JSON.stringify(reply.slice(0, 80))})`, provider, 'bad-response', true);
  }
  const checked = SUMMARY_REPLY.safeParse(parsed);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new ProviderError(`${provider}: the reply does not fit the summary's schema (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`, provider, 'bad-response', true);
  }
  return { summary: checked.data.summary, disposition: checked.data.disposition, fields: checked.data.fields ?? {} };
}
