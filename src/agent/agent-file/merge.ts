// The agent file under the environment: a variable that is set (GREETING, SYSTEM_PROMPT_FILE or SYSTEM_PROMPT,
// LANGUAGE, VOICEMAIL_LINE, GOOGLE_TTS_VOICE, OPENAI_TTS_VOICE, TTS_NORMALIZE_NUMBERS) wins over the file's field, so
// one deployment can change a line without editing the file; what neither sets is left undefined for src/config.ts's
// defaults. The rest of the file (name, transfers, tools, caller memory, vocabulary, summary) has no variable and is
// taken as it is.
import type { AgentFileContents } from './load.js';
import { DEFAULT_TOOL_TIMEOUT_MS } from './schema.js';
import { DEFAULT_AGENT_NAME, type ResolvedAgent } from './resolved-agent.js';

/** The single-field overrides, as src/config.ts read them (blank counts as unset; SYSTEM_PROMPT_FILE already read). */
export interface AgentEnvOverrides {
  greeting: string | undefined;
  /** SYSTEM_PROMPT_FILE's text, else SYSTEM_PROMPT. */
  systemPrompt: string | undefined;
  language: string | undefined;
  voicemailLine: string | undefined;
  googleVoice: string | undefined;
  openaiVoice: string | undefined;
  /** TTS_NORMALIZE_NUMBERS (on/off), over the file's normalizeNumbers. */
  normalizeNumbers?: boolean | undefined;
}

/** The merge: each overridable field from the environment, else the file, else undefined (the default applies). */
export interface MergedAgentSettings extends AgentEnvOverrides {
  /** Where the language came from, so that a problem with it can name its source. */
  languageSource: 'LANGUAGE' | 'AGENT_FILE' | undefined;
  /** ResolvedAgent minus the fields whose defaults depend on the language (greeting, systemPrompt, voicemailLine). */
  profile: Omit<ResolvedAgent, 'greeting' | 'systemPrompt' | 'voicemailLine'>;
}

export function mergeAgentWithEnv(file: { path: string; contents: AgentFileContents } | undefined, env: AgentEnvOverrides): MergedAgentSettings {
  const fromFile = file?.contents;
  const summary = fromFile?.summary;
  return {
    greeting: env.greeting ?? fromFile?.greeting,
    systemPrompt: env.systemPrompt ?? fromFile?.instructions,
    language: env.language ?? fromFile?.language,
    languageSource: env.language !== undefined ? 'LANGUAGE' : fromFile?.language !== undefined ? 'AGENT_FILE' : undefined,
    voicemailLine: env.voicemailLine ?? fromFile?.voicemail,
    googleVoice: env.googleVoice ?? fromFile?.voices?.google,
    openaiVoice: env.openaiVoice ?? fromFile?.voices?.openai,
    profile: {
      name: fromFile?.name ?? DEFAULT_AGENT_NAME,
      file: file?.path,
      transfers: fromFile?.transfers ?? [],
      tools: (fromFile?.tools ?? []).map((tool) => ({
        name: tool.name,
        description: tool.description,
        parameters: tool.parameters ?? { type: 'object', properties: {} },
        url: tool.url,
        timeoutMs: tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      })),
      callerMemory: fromFile?.callerMemory ?? false,
      vocabulary: fromFile?.vocabulary ?? [],
      normalizeNumbers: env.normalizeNumbers ?? fromFile?.normalizeNumbers,
      ...(fromFile?.backchannels !== undefined ? { backchannels: fromFile.backchannels } : {}),
      summary: summary !== undefined ? { fields: summary.fields, webhook: summary.webhook } : undefined,
    },
  };
}

/** What needs WEBHOOK_SIGNING_SECRET: every request to these is signed (src/agent/tools/signature.ts). */
export function signedDestinations(profile: Pick<ResolvedAgent, 'tools' | 'summary'>): string[] {
  const destinations = profile.tools.map((tool) => `tool ${tool.name}`);
  if (profile.summary?.webhook !== undefined) destinations.push('summary.webhook');
  return destinations;
}
