// What the rest of the server reads about the agent once the agent file (AGENT_FILE) and the environment are merged:
// plain data (it travels to the edge threads inside Config, by structured clone), validated at start-up, so that its
// consumers (the tool loop, the summary writer, transfers) never check it again. It is `config.agent` (with `kind`);
// a declared tool is called with callHttpTool(tool, { callSid, arguments }, { secret: config.webhookSigningSecret,
// signal }) from src/agent/tools/http-tool.ts (the secret is always set when `tools` is not empty).

/** A JSON schema whose top level is an object (what OpenAI takes as a function's parameters). */
export interface JsonSchemaObject {
  type: 'object';
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
  [keyword: string]: unknown;
}

/** A tool the agent file declares: the model calls it, we POST to `url` (src/agent/tools/http-tool.ts). */
export interface HttpToolSpec {
  /** The function name the model sees: ^[a-zA-Z0-9_-]{1,64}$, unique, never a built-in's name. */
  name: string;
  description: string;
  parameters: JsonSchemaObject;
  /** http(s):// URL, no credentials. */
  url: string;
  /** The whole request's deadline, answer read included (100..30000 ms; default 3000). */
  timeoutMs: number;
}

/** A person or desk the call can be handed to, by a name the model can use. */
export interface TransferTarget {
  /** Letters (any script), digits, _ or -; what the model passes to transfer_call. */
  name: string;
  /** E.164 (+972...) or a sip: URI. */
  to: string;
}

/** The end-of-call summary: the fields the model fills in, and where it is POSTed (signed like the tools). */
export interface SummarySpec {
  fields: JsonSchemaObject | undefined;
  webhook: string | undefined;
}

/** Tools every AI agent has, whatever the file says; a declared tool may not take their names. */
export const BUILT_IN_TOOL_NAMES: readonly string[] = ['end_call', 'transfer_call', 'lookup_caller', 'take_message'];

export interface ResolvedAgent {
  /** The file's `name` (default "ai-crmd"). */
  name: string;
  /** The AGENT_FILE path as given, or undefined when the agent comes from the environment alone. */
  file: string | undefined;
  /** Spoken when a call starts: GREETING, else the file's, else one for the language. */
  greeting: string | undefined;
  /** The LLM's instructions: SYSTEM_PROMPT_FILE, SYSTEM_PROMPT, the file's instructions(File), else the default. */
  systemPrompt: string;
  /** Left on an answering machine: VOICEMAIL_LINE, else the file's `voicemail`. */
  voicemailLine: string | undefined;
  /** In the file's order; empty when none are declared (then transfer_call is not offered). */
  transfers: readonly TransferTarget[];
  /** The file's HTTP tools, in its order; the built-ins are not listed here. */
  tools: readonly HttpToolSpec[];
  /** Earlier calls from the same From number go into the instructions (default false). */
  callerMemory: boolean;
  /** Business and product names the transcriber is told of (its prompt); empty when the file lists none. */
  vocabulary: readonly string[];
  /**
   * Numbers, phone numbers, times and prices written out for the TTS (src/agent/speech-text/): TTS_NORMALIZE_NUMBERS,
   * else the file's normalizeNumbers, else undefined (on for Hebrew, off for English).
   */
  normalizeNumbers: boolean | undefined;
  /** undefined when the file declares no summary. */
  summary: SummarySpec | undefined;
  /** The file's backchannels (replacing its language's defaults, src/agent/backchannels.ts); absent: the defaults. */
  backchannels?: readonly string[];
}

export const DEFAULT_AGENT_NAME = 'ai-crmd';
