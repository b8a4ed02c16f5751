// Chooses the agent for the calls of one edge thread: the keyless echo agent when config.agent.kind is 'echo' (no
// OPENAI_API_KEY, or AGENT=echo), otherwise the AI pipeline (ai-factory.ts). The pipeline and the provider SDKs it
// needs (openai, @google-cloud/text-to-speech) are imported only then, so that an echo thread's heap stays small and
// its full garbage collections, each a pause of every call on it, stay short (figures: bench/RESULTS.md, "Load").
// The thread's composition root calls buildAgent and releases what it returns at shutdown.
import type { AgentConfig, AgentParts, BuiltAgent } from './ai-factory.js';
import { createEchoAgent } from './echo.js';

export type { AgentConfig, AgentFactoryDeps, AgentMetrics, AgentParts, BuiltAgent } from './ai-factory.js';

let aiModule: typeof import('./ai-factory.js') | undefined;

/** The echo agent holds nothing to release. */
const ECHO_AGENT: BuiltAgent = Object.freeze({ agentFactory: createEchoAgent, release: async () => {} });

/**
 * The agent of one edge thread's calls, built for `config`: echo, or the AI pipeline with its providers and DSP pool,
 * reporting to `parts.metrics`. Rejects (with a message naming the setting) when the providers cannot be built,
 * e.g. unreadable Google credentials. Release the result once the thread's calls have ended.
 */
export async function buildAgent(config: AgentConfig, parts: AgentParts): Promise<BuiltAgent> {
  // (optional chaining: the call engine's own tests hand in configs without the agent's part)
  if (config.agent?.kind !== 'openai') return ECHO_AGENT;
  aiModule ??= await import('./ai-factory.js');
  return aiModule.buildAiAgent(config, parts);
}

/** Whether this thread loaded the AI pipeline's modules (tests: an echo thread must not). */
export function isAiAgentLoaded(): boolean {
  return aiModule !== undefined;
}
