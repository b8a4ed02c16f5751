// An HTTP tool of the agent file: the model asked for it, so we POST `{ callSid, tool, arguments }` as JSON to its URL,
// signed (X-AiCrmd-Signature, see signature.ts), and hand the answer's JSON back for the model to read. It never throws
// and never leaves the model waiting in silence: a refused connection, a timeout, a non-2xx status, an answer that is
// not JSON or too large each come back as an error string the model can read out or act on. The tool's own deadline
// covers the whole exchange (the answer's body included) and joins the caller's signal, so a barge-in cancels it.
import type { HttpToolSpec } from '../agent-file/resolved-agent.js';
import { SIGNATURE_HEADER, signatureHeaderValue } from './signature.js';
import type { Tool } from './types.js';

/** Structurally the tool loop's ToolResult (src/agent/tools/types.ts). */
export type HttpToolResult = { ok: true; value: unknown } | { ok: false; error: string };

export interface HttpToolCall {
  callSid: string;
  /** The model's arguments, already parsed from its JSON. */
  arguments: unknown;
}

export interface HttpToolOptions {
  /** WEBHOOK_SIGNING_SECRET. */
  secret: string;
  /** Aborts the request (the caller barged in, the call ended). */
  signal?: AbortSignal;
  /** Another fetch (tests, a proxy-aware one); the global fetch by default. */
  fetch?: typeof fetch;
  /** The answer is cut (and the call fails) past this many bytes; default MAX_TOOL_ANSWER_BYTES. */
  maxAnswerBytes?: number;
  /** Unix seconds of the signature; now by default. */
  nowS?: () => number;
}

/** The model reads the answer on every later turn: 64 KiB is already a lot of tokens. */
export const MAX_TOOL_ANSWER_BYTES = 64 * 1024;

/** The connection-level failures a fetch reports in its cause, said plainly. */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused (is the tool server running?)',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name was not found',
  EAI_AGAIN: 'the host name could not be resolved',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  UND_ERR_SOCKET: 'the connection closed before the answer was complete',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  CERT_HAS_EXPIRED: 'the server\'s TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server\'s TLS certificate is self-signed',
};

class AnswerTooLarge extends Error {}

function networkErrorText(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code !== undefined) return NETWORK_ERRORS[code] ?? `the request failed (${code})`;
  const message = typeof cause?.message === 'string' ? cause.message : (error as Error).message;
  return `the request failed (${String(message).slice(0, 200)})`;
}

/** Reads the body as a stream, at most `maxBytes`: a larger one is cancelled there, never buffered whole. */
async function readBounded(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new AnswerTooLarge();
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new AnswerTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Calls the tool at `spec.url` for the model. Resolves with its answer's JSON (null for an empty answer) or an error
 * string starting with the tool's name; never rejects.
 */
export async function callHttpTool(
  spec: Pick<HttpToolSpec, 'name' | 'url' | 'timeoutMs'>,
  call: HttpToolCall,
  options: HttpToolOptions,
): Promise<HttpToolResult> {
  const failed = (why: string): HttpToolResult => ({ ok: false, error: `tool ${spec.name} failed: ${why}` });
  if (options.signal?.aborted === true) return failed('it was cancelled before it started');
  let body: string;
  try {
    body = JSON.stringify({ callSid: call.callSid, tool: spec.name, arguments: call.arguments ?? {} });
  } catch (error) {
    return failed(`its arguments cannot be sent as JSON (${(error as Error).message})`);
  }
  const maxAnswerBytes = options.maxAnswerBytes ?? MAX_TOOL_ANSWER_BYTES;
  const controller = new AbortController();
  let isTimedOut = false;
  const timer = setTimeout(() => {
    isTimedOut = true;
    controller.abort();
  }, spec.timeoutMs);
  const onCallerAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const whyAborted = (): string => (isTimedOut ? `no complete answer within its ${spec.timeoutMs} ms timeout` : 'it was cancelled (the caller spoke or the call ended)');
  try {
    const fetchImpl = options.fetch ?? fetch;
    let response: Response;
    try {
      response = await fetchImpl(spec.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          [SIGNATURE_HEADER]: signatureHeaderValue(options.secret, body, options.nowS?.() ?? Math.floor(Date.now() / 1000)),
        },
        body,
        // a redirect would resend the signed arguments wherever it points: it is an answer like any other non-2xx
        redirect: 'manual',
        signal: controller.signal,
      });
    } catch (error) {
      return failed(controller.signal.aborted ? whyAborted() : networkErrorText(error));
    }
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel().catch(() => {});
      return failed(`the server answered HTTP ${response.status}${response.statusText !== '' ? ` ${response.statusText}` : ''}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readBounded(response, maxAnswerBytes);
    } catch (error) {
      if (error instanceof AnswerTooLarge) return failed(`its answer is larger than ${maxAnswerBytes} bytes`);
      return failed(controller.signal.aborted ? whyAborted() : networkErrorText(error));
    }
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes).trim();
    if (text === '') return { ok: true, value: null };
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      const contentType = response.headers.get('content-type') ?? 'no content type';
      return failed(`its answer is not JSON (${contentType.slice(0, 100)})`);
    }
  } catch (error) {
    // nothing above should get here; a tool must still never throw into the turn
    return failed(`an unexpected error (${String((error as Error)?.message ?? error).slice(0, 200)})`);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** An agent file's HTTP tool as the tool loop runs it: the model's arguments POSTed, signed, under the call's signal. */
export function httpTool(spec: HttpToolSpec, secret: string): Tool {
  return {
    name: spec.name,
    description: spec.description,
    parameters: spec.parameters,
    // the registry's own limit sits a little past the tool's, which callHttpTool keeps (its error names the tool)
    timeoutMs: spec.timeoutMs + 250,
    run: (args, ctx) => callHttpTool(spec, { callSid: ctx.callSid, arguments: args }, { secret, signal: ctx.signal }),
  };
}
