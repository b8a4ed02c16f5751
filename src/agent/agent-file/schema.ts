// The agent file's schema (zod), strict: every key is known or an error that names it and, when it is close to one,
// the key it resembles; every value says what it should be. Every field is optional: a missing one keeps today's
// default (or the environment's value). The issues come back with their field paths (tools[1].url) so that the loader
// can name the file and the field of each, all at once.
import { z } from 'zod';
import { BUILT_IN_TOOL_NAMES, type JsonSchemaObject } from './resolved-agent.js';
import { closestName } from './closest-name.js';
import { MAX_BACKCHANNEL_PHRASE_CHARS, MAX_BACKCHANNELS } from '../backchannels.js';

export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
/** Transfer names: letters of any script (a Hebrew desk's name is fine), digits, _ and -, from a letter or digit. */
export const TRANSFER_NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}_-]{0,63}$/u;
// what the transfer command takes (the control API's `to`, twilio/twiml.ts's <Number> or <Sip>)
const E164_PATTERN = /^\+[1-9]\d{6,14}$/;
const SIP_URI_PATTERN = /^sips?:[^\s<>"]{3,256}$/i;
const LANGUAGE_PATTERN = /^[a-zA-Z]{2,3}(-[a-zA-Z]{2,4})?$/;
const VOICE_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
export const MIN_TOOL_TIMEOUT_MS = 100;
export const MAX_TOOL_TIMEOUT_MS = 30_000;
export const DEFAULT_TOOL_TIMEOUT_MS = 3000;
const MAX_TOOLS = 64;
const MAX_TRANSFERS = 32;
const MAX_LINE_CHARS = 1000;
export const MAX_INSTRUCTIONS_CHARS = 32_000;
const MAX_DESCRIPTION_CHARS = 1024;
/** The vocabulary (names the transcriber is told of): how many, how long each, and all together (Whisper reads about 224 tokens of its prompt). */
export const MAX_VOCABULARY_NAMES = 50;
export const MAX_VOCABULARY_NAME_CHARS = 60;
export const MAX_VOCABULARY_CHARS = 800;
/** A schema nested deeper than this is refused: the model gets it on every turn, and walking it must stay cheap. */
const MAX_SCHEMA_DEPTH = 16;

/**
 * A strict mapping: unknown keys are issues (checkAgentFile names each one and the known key it resembles). A key left
 * empty (`greeting:` in YAML, null in JSON) counts as unset, as a blank variable does.
 */
function strictMapping<T extends z.ZodRawShape>(shape: T, what: string) {
  return z.preprocess(
    (value) => (isMapping(value) ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) : value),
    z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : `must be a mapping (${what})`) }),
  );
}

const line = (maxChars: number) =>
  z.string({ error: 'must be text' }).trim().min(1, 'must not be empty').max(maxChars, `must be at most ${maxChars} characters`);

function httpUrl() {
  return z.string({ error: 'must be an http:// or https:// URL' }).superRefine((s, ctx) => {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue(`must be an http:// or https:// URL (got ${JSON.stringify(s)})`);
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue(`must be an http:// or https:// URL (got ${JSON.stringify(s)})`);
    else if (url.username !== '' || url.password !== '') ctx.addIssue('must not carry credentials (user:password@): the requests are signed instead (WEBHOOK_SIGNING_SECRET)');
  });
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_SCHEMA_DEPTH || typeof value !== 'object' || value === null) return depth;
  let deepest = depth;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child, depth + 1));
  return deepest;
}

/**
 * A JSON schema of an object (tool parameters, summary fields): type object, `properties` a mapping of schemas,
 * `required` the names of some of them. The keywords inside are the model's business; only the shape OpenAI insists on
 * is checked here.
 */
function jsonSchemaObject() {
  return z.unknown().transform((value, ctx): JsonSchemaObject => {
    if (!isMapping(value)) {
      ctx.addIssue('must be a JSON schema mapping, like { type: object, properties: { ... } }');
      return z.NEVER;
    }
    if (value['type'] !== 'object') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `must be object: the top of the schema describes an object of named values (got ${JSON.stringify(value['type'] ?? null)})` });
    }
    const properties = value['properties'];
    if (properties !== undefined) {
      if (!isMapping(properties)) {
        ctx.addIssue({ code: 'custom', path: ['properties'], message: 'must be a mapping of property names to their schemas' });
      } else {
        for (const [name, schema] of Object.entries(properties)) {
          if (!isMapping(schema)) ctx.addIssue({ code: 'custom', path: ['properties', name], message: 'must be a schema mapping, like { type: string }' });
        }
      }
    }
    const required = value['required'];
    if (required !== undefined) {
      if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) {
        ctx.addIssue({ code: 'custom', path: ['required'], message: 'must be a list of property names' });
      } else {
        for (const [index, name] of required.entries()) {
          if (!isMapping(properties) || !Object.hasOwn(properties, name)) {
            ctx.addIssue({ code: 'custom', path: ['required', index], message: `names ${JSON.stringify(name)}, which is not in properties` });
          }
        }
      }
    }
    if (depthOf(value) > MAX_SCHEMA_DEPTH) ctx.addIssue(`must nest at most ${MAX_SCHEMA_DEPTH} levels deep`);
    return value as JsonSchemaObject;
  });
}

const toolShape = {
  name: z.string({ error: 'must be text' }).regex(TOOL_NAME_PATTERN, 'must be 1 to 64 letters (a-z, A-Z), digits, _ or - (what OpenAI accepts as a function name)'),
  description: line(MAX_DESCRIPTION_CHARS),
  parameters: jsonSchemaObject().optional(),
  url: httpUrl(),
  timeoutMs: z
    .number({ error: `must be a number of milliseconds from ${MIN_TOOL_TIMEOUT_MS} to ${MAX_TOOL_TIMEOUT_MS}` })
    .int(`must be a whole number of milliseconds from ${MIN_TOOL_TIMEOUT_MS} to ${MAX_TOOL_TIMEOUT_MS}`)
    .min(MIN_TOOL_TIMEOUT_MS, `must be a number of milliseconds from ${MIN_TOOL_TIMEOUT_MS} to ${MAX_TOOL_TIMEOUT_MS}`)
    .max(MAX_TOOL_TIMEOUT_MS, `must be a number of milliseconds from ${MIN_TOOL_TIMEOUT_MS} to ${MAX_TOOL_TIMEOUT_MS}`)
    .optional(),
};
const toolSchema = strictMapping(toolShape, 'a tool');

const transfersSchema = z.unknown().transform((value, ctx): Array<{ name: string; to: string }> => {
  if (!isMapping(value)) {
    ctx.addIssue('must be a mapping of names to numbers, like { sales: "+97231234567" }');
    return z.NEVER;
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_TRANSFERS) ctx.addIssue(`must name at most ${MAX_TRANSFERS} targets`);
  for (const [name, to] of entries) {
    if (!TRANSFER_NAME_PATTERN.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'the name must be 1 to 64 letters, digits, _ or -, starting with a letter or digit (the model passes it to transfer_call)' });
    }
    if (typeof to === 'number') {
      ctx.addIssue({ code: 'custom', path: [name], message: `must be text: quote the number ("+${to}"), YAML reads an unquoted +number as a number` });
    } else if (typeof to !== 'string' || !(E164_PATTERN.test(to) || SIP_URI_PATTERN.test(to))) {
      ctx.addIssue({ code: 'custom', path: [name], message: `must be an E.164 number (+ and the country code, 7 to 15 digits, e.g. "+97231234567") or a sip: URI like sip:desk@example.com (got ${JSON.stringify(to)})` });
    }
  }
  return entries.map(([name, to]) => ({ name, to: String(to) }));
});

const vocabularySchema = z
  .array(line(MAX_VOCABULARY_NAME_CHARS), { error: 'must be a list of names (business and product names the caller may say)' })
  .max(MAX_VOCABULARY_NAMES, `must list at most ${MAX_VOCABULARY_NAMES} names`)
  .superRefine((names, ctx) => {
    const chars = names.reduce((n, name) => n + name.length, 0);
    if (chars > MAX_VOCABULARY_CHARS) {
      ctx.addIssue(`must be at most ${MAX_VOCABULARY_CHARS} characters in all (got ${chars}): the transcriber reads only the start of a longer prompt`);
    }
  });

const voicesShape = {
  google: z.string({ error: 'must be text' }).regex(VOICE_PATTERN, 'must be a Google voice name like he-IL-Wavenet-A').optional(),
  openai: z.string({ error: 'must be text' }).regex(VOICE_PATTERN, 'must be an OpenAI voice name like alloy').optional(),
};
const summaryShape = {
  fields: jsonSchemaObject().optional(),
  webhook: httpUrl().optional(),
};
const agentFileShape = {
  name: line(100).optional(),
  language: z.string({ error: 'must be text' }).regex(LANGUAGE_PATTERN, 'must be a language code such as he, he-IL, en or en-US').optional(),
  greeting: line(MAX_LINE_CHARS).optional(),
  instructions: line(MAX_INSTRUCTIONS_CHARS).optional(),
  instructionsFile: line(1000).optional(),
  voices: strictMapping(voicesShape, 'voices').optional(),
  voicemail: line(MAX_LINE_CHARS).optional(),
  transfers: transfersSchema.optional(),
  callerMemory: z.boolean({ error: 'must be true or false' }).optional(),
  vocabulary: vocabularySchema.optional(),
  normalizeNumbers: z.boolean({ error: 'must be true or false' }).optional(),
  tools: z.array(toolSchema, { error: 'must be a list of tools' }).max(MAX_TOOLS, `must declare at most ${MAX_TOOLS} tools`).optional(),
  summary: strictMapping(summaryShape, 'summary').optional(),
  /** Words that only say "I'm listening" (uh-huh, כן): said over the agent they do not interrupt it; replaces the language's list. */
  backchannels: z
    .array(line(MAX_BACKCHANNEL_PHRASE_CHARS), { error: 'must be a list of short phrases, like [uh-huh, ok]' })
    .max(MAX_BACKCHANNELS, `must list at most ${MAX_BACKCHANNELS} phrases`)
    .optional(),
};
export const AgentFileSchema = strictMapping(agentFileShape, 'an agent file');

export type AgentFileInput = z.output<typeof AgentFileSchema>;

/** The keys a mapping at `path` may have (for the near-miss hint of an unknown key). */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  if (path.length === 0) return Object.keys(agentFileShape);
  if (path.length === 1 && path[0] === 'voices') return Object.keys(voicesShape);
  if (path.length === 1 && path[0] === 'summary') return Object.keys(summaryShape);
  if (path.length === 2 && path[0] === 'tools') return Object.keys(toolShape);
  return [];
}

export interface FieldIssue {
  path: PropertyKey[];
  message: string;
}

/**
 * Checks that need the whole file (tool names unique and not a built-in's; instructions or instructionsFile), on the
 * raw value, so that they are reported together with every other problem rather than only once the rest is valid.
 */
function crossFieldIssues(raw: unknown): FieldIssue[] {
  if (!isMapping(raw)) return [];
  const issues: FieldIssue[] = [];
  if (raw['instructions'] !== undefined && raw['instructionsFile'] !== undefined) {
    issues.push({ path: ['instructionsFile'], message: 'give either instructions or instructionsFile, not both' });
  }
  const tools = raw['tools'];
  if (Array.isArray(tools)) {
    const seen = new Set<string>();
    for (const [index, tool] of tools.entries()) {
      const name = isMapping(tool) ? tool['name'] : undefined;
      if (typeof name !== 'string') continue;
      if (BUILT_IN_TOOL_NAMES.includes(name)) {
        issues.push({ path: ['tools', index, 'name'], message: `${JSON.stringify(name)} is a built-in tool's name (${BUILT_IN_TOOL_NAMES.join(', ')}); pick another` });
      } else if (seen.has(name)) {
        issues.push({ path: ['tools', index, 'name'], message: `${JSON.stringify(name)} is declared twice: tool names must be unique` });
      }
      seen.add(name);
    }
  }
  return issues;
}

/** The file checked against the schema: its settings, or every problem with its field path (in the file's order). */
export function checkAgentFile(raw: unknown): { data: AgentFileInput; issues: [] } | { data: undefined; issues: FieldIssue[] } {
  const result = AgentFileSchema.safeParse(raw);
  const issues: FieldIssue[] = [];
  for (const issue of result.success ? [] : result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path);
      for (const key of issue.keys) {
        const near = closestName(key, known);
        issues.push({ path: [...issue.path, key], message: `unknown key${near !== undefined ? ` (did you mean ${JSON.stringify(near)}?)` : `; the keys here are ${known.join(', ')}`}` });
      }
    } else {
      issues.push({ path: [...issue.path], message: issue.message });
    }
  }
  issues.push(...crossFieldIssues(raw));
  if (issues.length > 0 || !result.success) return { data: undefined, issues };
  return { data: result.data, issues: [] };
}

/** A zod issue's path as a reader writes it: tools[1].url, transfers.sales, summary.fields.properties.x. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      out += /^[\p{L}\p{N}_$-]+$/u.test(key) ? (out === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}
