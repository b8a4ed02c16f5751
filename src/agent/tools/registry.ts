// The tools one agent offers the model, and the dispatcher that runs the model's calls: it parses the arguments'
// JSON (bad JSON, or arguments that are not an object of the declared shape, answer the model with an error), runs
// the tool under its time limit and the turn's signal (a tool that ignores its signal is still given up on at the
// limit), catches whatever it throws, and bounds the answer before it goes into the conversation. Nothing here
// throws: every call, whatever happens, comes back as a tool message's content.
import type { ToolCallRequest, ToolDefinition } from '../types.js';
import type { Tool, ToolContext, ToolResult } from './types.js';

/** A tool run's default time limit. */
export const DEFAULT_TOOL_TIMEOUT_MS = 5000;
/** Characters of a tool's answer that go into the conversation (the model's context, and its cost, are bounded). */
export const MAX_TOOL_RESULT_CHARS = 4000;

export interface ToolRegistryOptions {
  defaultTimeoutMs?: number;
  maxResultChars?: number;
}

/** One finished call: what goes back to the model (`content`, a JSON text) and the result it was made from. */
export interface ToolOutcome {
  call: ToolCallRequest;
  result: ToolResult;
  content: string;
  durationMs: number;
}

export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();
  private readonly defaultTimeoutMs: number;
  private readonly maxResultChars: number;

  constructor(tools: readonly Tool[], options: ToolRegistryOptions = {}) {
    for (const tool of tools) {
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) throw new TypeError(`tool name must be 1-64 letters, digits, _ or - (got ${JSON.stringify(tool.name)})`);
      if (this.tools.has(tool.name)) throw new TypeError(`tool ${tool.name} is declared twice`);
      this.tools.set(tool.name, tool);
    }
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
    this.maxResultChars = options.maxResultChars ?? MAX_TOOL_RESULT_CHARS;
  }

  get size(): number {
    return this.tools.size;
  }

  /** What the model is told it may call. */
  definitions(): ToolDefinition[] {
    return [...this.tools.values()].map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  }

  /** Runs one call the model made. Never rejects. */
  async dispatch(call: ToolCallRequest, ctx: ToolContext): Promise<ToolOutcome> {
    const startedMs = performance.now();
    const result = await this.run(call, ctx);
    return { call, result, content: this.bounded(result), durationMs: Math.round(performance.now() - startedMs) };
  }

  private async run(call: ToolCallRequest, ctx: ToolContext): Promise<ToolResult> {
    const tool = this.tools.get(call.name);
    if (tool === undefined) return { ok: false, error: `unknown tool ${JSON.stringify(call.name.slice(0, 64))}; the tools are ${[...this.tools.keys()].join(', ')}` };
    const args = parseArguments(call.argumentsJson, tool.parameters);
    if (typeof args === 'string') return { ok: false, error: args };
    if (ctx.signal.aborted) return { ok: false, error: 'cancelled' };
    const timeoutMs = tool.timeoutMs ?? this.defaultTimeoutMs;
    const limit = new AbortController();
    const signal = AbortSignal.any([ctx.signal, limit.signal]);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const givenUp = new Promise<ToolResult>((resolve) => {
      timer = setTimeout(() => {
        limit.abort(new Error(`tool ${tool.name} timed out`));
        resolve({ ok: false, error: `${tool.name} did not answer within ${timeoutMs} ms` });
      }, timeoutMs);
      onAbort = () => resolve({ ok: false, error: 'cancelled' });
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const running = Promise.resolve().then(() => tool.run(args, { ...ctx, signal })).then(
        (result) => (isToolResult(result) ? result : { ok: false as const, error: `${tool.name} gave no result` }),
        (error: unknown) => ({ ok: false as const, error: `${tool.name} failed: ${messageOf(error)}` }),
      );
      return await Promise.race([running, givenUp]);
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The result as the tool message's JSON text, at most maxResultChars long. */
  private bounded(result: ToolResult): string {
    let text: string;
    try {
      text = JSON.stringify(result.ok ? { ok: true, value: result.value ?? null } : { ok: false, error: result.error });
    } catch (error) {
      text = JSON.stringify({ ok: false, error: `the result could not be sent: ${messageOf(error)}` });
    }
    if (text.length <= this.maxResultChars) return text;
    // cut, and said so: the model can tell it saw only the start
    return JSON.stringify({ ok: result.ok, truncated: true, start: text.slice(0, Math.max(0, this.maxResultChars - 60)) });
  }
}

/**
 * The model's arguments as an object, or why not (a message for the model): the JSON must parse to an object, hold
 * the schema's `required` properties, and its declared properties must have their declared primitive types.
 */
export function parseArguments(json: string, schema: Record<string, unknown>): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(json.trim().length === 0 ? '{}' : json);
  } catch (error) {
    return `the arguments are not valid JSON (${messageOf(error).slice(0, 120)})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the arguments must be a JSON object';
  const args = value as Record<string, unknown>;
  const required = Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : [];
  const missing = required.filter((name): name is string => typeof name === 'string' && args[name] === undefined);
  if (missing.length > 0) return `missing argument(s): ${missing.join(', ')}`;
  const properties = typeof schema['properties'] === 'object' && schema['properties'] !== null ? (schema['properties'] as Record<string, unknown>) : {};
  for (const [name, declared] of Object.entries(properties)) {
    const given = args[name];
    const type = (declared as { type?: unknown } | null)?.type;
    if (given === undefined || given === null || typeof type !== 'string') continue;
    if (!hasType(given, type)) return `argument ${name} must be of type ${type}`;
  }
  return args;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'integer': return Number.isInteger(value);
    case 'boolean': return typeof value === 'boolean';
    case 'array': return Array.isArray(value);
    case 'object': return typeof value === 'object' && !Array.isArray(value);
    default: return true;
  }
}

function isToolResult(value: unknown): value is ToolResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { ok?: unknown; error?: unknown };
  return v.ok === true || (v.ok === false && typeof v.error === 'string');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
