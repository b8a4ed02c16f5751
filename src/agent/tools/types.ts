// What a tool is to the agent: a function the model may call (name, description, JSON-schema parameters) and the
// code that carries it out. A tool answers with a ToolResult, never by throwing: the dispatcher (registry.ts) turns
// bad arguments, a throw, a timeout or an oversized answer into an error result, because the model must always hear
// back (silence would leave it, and the caller, waiting). Each run gets an AbortSignal: barge-in, the call's end
// and the tool's own time limit abort it.
import type { Logger } from 'pino';
import type { CallCommand, CommandResult } from '../../call/events.js';
import type { AgentReport } from '../../call/agent-contract.js';

export type ToolResult = { ok: true; value: unknown } | { ok: false; error: string };

/** What a tool may see of, and do to, its call. */
export interface ToolContext {
  readonly callSid: string;
  /** The caller's number (the stream's `from` parameter) on an inbound call; undefined on an outbound one. */
  readonly from: string | undefined;
  /** The call's language code (he, en-US, ...), for lines the tool has spoken. */
  readonly languageCode: string;
  /** Aborted on barge-in, a newer turn, the call's end, or the tool's time limit. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Tells the engine something for the call's record (a message taken). */
  report(report: AgentReport): void;
  /**
   * The call's last action (a hang-up, a transfer): carried out through the call's commands, the API's own, once
   * what this reply says has been queued; the model is not asked again in this turn.
   */
  finish(command: CallCommand): void;
}

export interface Tool {
  readonly name: string;
  readonly description: string;
  /** A JSON schema of the arguments object (given to the model as is). */
  readonly parameters: Record<string, unknown>;
  /** How long one run may take (default: the registry's). */
  readonly timeoutMs?: number;
  /** `args` is the model's arguments, parsed (an object); check its shape before use. */
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult>;
}

export type { CallCommand, CommandResult };
