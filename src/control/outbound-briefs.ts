// What a call placed through the API is about: the `greeting` the agent opens with and the `context` it is given (the
// business's own JSON: who is called and why). Neither fits Twilio's path to the stream (a <Stream> parameter is at
// most 500 characters), so the brief stays in this process's main thread under a random launch id, the answer URL
// carries only that id (Twilio signs the whole URL), the answer webhook hands it to the stream as a parameter, and
// the agent asks for the brief by id when its call starts. Bounded in count and in age (a placed call rings for at
// most 10 minutes); a brief is read, not consumed, so a second read (a retry) finds it too.
// Several instances behind one number share the records database: there the brief is also written before the call is
// placed (SharedBriefStore, src/records/briefs.ts), and an instance that does not hold it reads it from there.
import { randomBytes } from 'node:crypto';
import type { CallBrief } from '../call/agent-contract.js';

export type OutboundBrief = CallBrief;

export const MAX_BRIEF_GREETING_CHARS = 1000;
/** The context's size as JSON. */
export const MAX_BRIEF_CONTEXT_BYTES = 4096;
/** The <Stream> parameter (and answer URL query name) that carries the launch id. */
export const LAUNCH_PARAM = 'launch';
/** 128 random bits, hex. */
export const LAUNCH_ID = /^[0-9a-f]{32}$/;
/** Twilio lets a call ring for up to 600 s (calls.create's timeout); some slack for queueing and the webhook. */
export const BRIEF_TTL_MS = 15 * 60_000;
export const MAX_BRIEFS = 10_000;

export function newLaunchId(): string {
  return randomBytes(16).toString('hex');
}

/** Briefs where every instance finds them (the records database); each call may fail (the database is down). */
export interface SharedBriefStore {
  put(launchId: string, brief: OutboundBrief, ttlMs: number): Promise<void>;
  get(launchId: string): Promise<OutboundBrief | undefined>;
}

/** The briefs of calls placed recently, by launch id (the main thread's). */
export class OutboundBriefStore {
  private readonly briefs = new Map<string, { brief: OutboundBrief; expiresAtMs: number }>();

  constructor(private readonly options: { ttlMs?: number; maxBriefs?: number } = {}) {}

  get size(): number {
    return this.briefs.size;
  }

  put(launchId: string, brief: OutboundBrief, nowMs: number): void {
    if (!LAUNCH_ID.test(launchId)) return;
    this.dropExpired(nowMs);
    const maxBriefs = this.options.maxBriefs ?? MAX_BRIEFS;
    // insertion order is age order: the oldest goes first
    while (this.briefs.size >= maxBriefs) this.briefs.delete(this.briefs.keys().next().value as string);
    this.briefs.set(launchId, { brief, expiresAtMs: nowMs + (this.options.ttlMs ?? BRIEF_TTL_MS) });
  }

  get(launchId: string, nowMs: number): OutboundBrief | undefined {
    const entry = this.briefs.get(launchId);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.briefs.delete(launchId);
      return undefined;
    }
    return entry.brief;
  }

  private dropExpired(nowMs: number): void {
    for (const [launchId, entry] of this.briefs) {
      if (entry.expiresAtMs > nowMs) break; // the rest are younger
      this.briefs.delete(launchId);
    }
  }
}

