// Chooses the agent for the calls of one edge thread: the keyless echo agent when config.agent.kind is 'echo' (no
// OPENAI_API_KEY, or AGENT=echo), otherwise the AI pipeline (ai-factory.ts). The pipeline and the provider SDKs it
// needs (openai, @google-cloud/text-to-speech) are imported only then, so that an echo thread's heap stays small and
// its full garbage collections, each a pause of every call on it, stay short (figures: bench/RESULTS.md, "Load").
import type { AgentConfig, AgentFactoryDeps } from './ai-factory.js';
import { createEchoAgent } from './echo.js';
import type { AgentFactory } from './types.js';

export type { AgentConfig, AgentFactoryDeps } from './ai-factory.js';

let aiModule: typeof import('./ai-factory.js') | undefined;

/**
 * The AgentFactory for `config`: echo, or the AI pipeline. Rejects (with a message naming the setting) when the
 * providers cannot be built, e.g. unreadable Google credentials.
 */
export async function loadAgentFactory(config: AgentConfig, deps: AgentFactoryDeps = {}): Promise<AgentFactory> {
  // (optional chaining: the call engine's own tests hand in configs without the agent's part)
  if (config.agent?.kind !== 'openai') return createEchoAgent;
  aiModule ??= await import('./ai-factory.js');
  return aiModule.createAiAgentFactory(config, deps);
}

/** Whether this thread loaded the AI pipeline's modules (tests: an echo thread must not). */
export function isAiAgentLoaded(): boolean {
  return aiModule !== undefined;
}

/** Releases this thread's AI resources (its DSP pool), if it has any (tests, shutdown). */
export async function destroyAgentResources(): Promise<void> {
  await aiModule?.destroyAgentResources();
}
