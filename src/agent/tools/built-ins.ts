// The tools every AI agent has: end_call (the goodbye is spoken, the call hung up once it was heard), take_message
// (kept in the call's record), transfer_call (to one of the configured targets, by name) and lookup_caller (this
// number's earlier calls, from the records). What they do to the call goes through the call's commands, the same
// the control API uses (ToolContext.finish), so that the control plane's REST hang-up or redirect follows.
// Arguments are checked with zod (the registry has checked they are a JSON object); a wrong shape is an error result.
import { z } from 'zod';
import { toolLinesFor } from './lines.js';
import type { Tool, ToolContext, ToolResult } from './types.js';

const MAX_LINE_CHARS = 300;

function invalid(error: z.ZodError): ToolResult {
  const issue = error.issues[0];
  return { ok: false, error: `bad arguments: ${issue?.path.join('.') || 'arguments'} ${issue?.message ?? 'invalid'}` };
}

const endCallArgs = z.object({ goodbye: z.string().trim().max(MAX_LINE_CHARS).optional() });

export const endCallTool: Tool = {
  name: 'end_call',
  description: 'End the call. The goodbye is said to the caller first, and the line hangs up once it was heard.',
  parameters: {
    type: 'object',
    properties: { goodbye: { type: 'string', description: 'The last thing to say, in the caller\'s language.' } },
    additionalProperties: false,
  },
  async run(args, ctx) {
    const parsed = endCallArgs.safeParse(args);
    if (!parsed.success) return invalid(parsed.error);
    const goodbye = parsed.data.goodbye !== undefined && parsed.data.goodbye.length > 0 ? parsed.data.goodbye : toolLinesFor(ctx.languageCode).goodbye;
    ctx.finish({ kind: 'hang-up', goodbye, reason: 'agent-end-call' });
    return { ok: true, value: { ending: true } };
  },
};

const takeMessageArgs = z.object({
  message: z.string().trim().min(1).max(2000),
  name: z.string().trim().max(200).optional(),
  callbackNumber: z.string().trim().max(40).optional(),
});

export const takeMessageTool: Tool = {
  name: 'take_message',
  description: 'Keep a message from the caller for the team (who it is from, a number to call back, what it says).',
  parameters: {
    type: 'object',
    properties: {
      message: { type: 'string', description: 'The message, as the caller gave it.' },
      name: { type: 'string', description: 'The caller\'s name, if given.' },
      callbackNumber: { type: 'string', description: 'A number to call back, if given.' },
    },
    required: ['message'],
    additionalProperties: false,
  },
  async run(args, ctx) {
    const parsed = takeMessageArgs.safeParse(args);
    if (!parsed.success) return invalid(parsed.error);
    const { message, name, callbackNumber } = parsed.data;
    ctx.report({
      kind: 'message', message, ...(name !== undefined && name.length > 0 ? { name } : {}),
      ...(callbackNumber !== undefined && callbackNumber.length > 0 ? { callbackNumber } : {}),
    });
    return { ok: true, value: { saved: true } };
  },
};

/** transfer_call for `targets` (name -> E.164 number or sip: URI); undefined when there are none. */
export function transferCallTool(targets: Readonly<Record<string, string>>): Tool | undefined {
  const names = Object.keys(targets);
  if (names.length === 0) return undefined;
  const args = z.object({ target: z.string(), summary: z.string().trim().max(MAX_LINE_CHARS).optional() });
  return {
    name: 'transfer_call',
    description: 'Transfer the caller to a person or team, by name. The summary (optional) is whispered to whoever answers before the call is connected.',
    parameters: {
      type: 'object',
      properties: {
        target: { type: 'string', enum: names, description: 'Who to transfer to.' },
        summary: { type: 'string', description: 'One sentence on what the caller wants, for the person who answers.' },
      },
      required: ['target'],
      additionalProperties: false,
    },
    async run(raw, ctx) {
      const parsed = args.safeParse(raw);
      if (!parsed.success) return invalid(parsed.error);
      const { target, summary } = parsed.data;
      const to = Object.hasOwn(targets, target) ? targets[target] : undefined;
      if (to === undefined) return { ok: false, error: `unknown target ${JSON.stringify(target.slice(0, 64))}; the targets are ${names.join(', ')}` };
      const hasSummary = summary !== undefined && summary.length > 0;
      ctx.finish({ kind: 'transfer', to, isWarm: hasSummary, line: toolLinesFor(ctx.languageCode).transfer, ...(hasSummary ? { summary } : {}) });
      return { ok: true, value: { transferring: target } };
    },
  };
}

/** One earlier call of the same number, as lookup_caller tells the model of it. */
export interface CallerHistoryEntry {
  callSid: string;
  at: string;
  direction: string;
  durationMs: number | null;
  endReason: string | null;
  /** Short: what was said or left (a message, the last lines), at most a few hundred characters. */
  summary: string;
}

/** Reads a number's earlier calls (newest first, at most `limit`); rejects with a message when records are off. */
export type CallerLookup = (from: string, limit: number, signal: AbortSignal) => Promise<CallerHistoryEntry[]>;

export const LOOKUP_CALLER_LIMIT = 5;

export function lookupCallerTool(lookup: CallerLookup): Tool {
  return {
    name: 'lookup_caller',
    description: 'Look up this caller\'s earlier calls (by their phone number): when, and what they were about.',
    parameters: { type: 'object', properties: {}, additionalProperties: false },
    async run(_args, ctx: ToolContext) {
      if (ctx.from === undefined || ctx.from.length === 0) return { ok: false, error: 'the caller\'s number is not known' };
      const calls = (await lookup(ctx.from, LOOKUP_CALLER_LIMIT + 1, ctx.signal))
        .filter((c) => c.callSid !== ctx.callSid).slice(0, LOOKUP_CALLER_LIMIT); // this call is in the records too
      return { ok: true, value: { from: ctx.from, earlierCalls: calls } };
    },
  };
}

export interface BuiltInToolOptions {
  /** Transfer targets by name (empty: no transfer_call). */
  transfers?: Readonly<Record<string, string>>;
  /** Earlier calls from the records (none: no lookup_caller). */
  lookupCaller?: CallerLookup;
}

export function builtInTools(options: BuiltInToolOptions = {}): Tool[] {
  const tools: Tool[] = [endCallTool, takeMessageTool];
  const transfer = transferCallTool(options.transfers ?? {});
  if (transfer !== undefined) tools.push(transfer);
  if (options.lookupCaller !== undefined) tools.push(lookupCallerTool(options.lookupCaller));
  return tools;
}
