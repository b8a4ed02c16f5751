// Which call engine an edge thread runs: a module exporting createCallEngine(context), loaded by URL in every edge
// thread (main.ts passes the URL: the product's composition root, src/thread-root.ts, unless EDGE_SESSION_MODULE names
// another, as the edge tests do). The edge uses only what CallEngine offers (src/call/types.ts): a session per
// accepted stream, the engine's counters as plain numbers, and its shutdown.
import type { CallEngine } from '../call/types.js';
import type { Config } from '../config.js';
import type { OutboundBrief } from '../control/outbound-briefs.js';
import type { RecordsAnswer, RecordsQuery } from '../control/plane.js';

/** What an edge thread tells the module that builds its engine. */
export interface CallEngineContext {
  config: Config;
  /** 0..EDGE_THREADS-1 (0 as well when the edge runs in the main thread). */
  threadIndex: number;
  /** A placed call's brief by its launch id (the main thread keeps them); absent in engines built without one. */
  outboundBriefFor?: (launchId: string) => Promise<OutboundBrief | undefined>;
  /** Reads the call records (they live in the main thread); never rejects. */
  queryRecords?: (query: RecordsQuery) => Promise<RecordsAnswer>;
}

export interface CallEngineModule {
  createCallEngine(context: CallEngineContext): CallEngine | Promise<CallEngine>;
}

export async function loadCallEngine(url: string, context: CallEngineContext): Promise<CallEngine> {
  const mod = (await import(url)) as Partial<CallEngineModule>;
  if (typeof mod.createCallEngine !== 'function') {
    throw new TypeError(`session module ${url} must export createCallEngine(context)`);
  }
  return await mod.createCallEngine(context);
}
