// Early end of turn (issue 16): at a short pause inside a caller's turn, the reply is asked for on the transcript so
// far, before the VAD's hangover says that the turn is over. What the model sends is held here, never spoken, until
// the turn's fate is known:
//   - the pause became the end of the turn, the final transcript is the one it was asked on and the conversation has
//     not changed since: the reply goes on from what is held (its first token is already here), then live;
//   - the caller went on, or anything else differs: it is aborted (its request closed) and nothing of it was played.
// Bounded: at most maxHeldChars of text and maxHeldEvents events are held; a reply larger than that before it is
// adopted is thrown away (a phone reply is a few hundred characters). A speculation that is never settled is aborted
// with its parent signal (the call's).
// Given a first-sentence prefetch, the held reply's first sentence (cut by the reply's own rules) is synthesized as
// soon as it is complete (sentence-prefetch.ts): held as audio, played only if the reply is adopted, aborted with it.
import type { SentenceCutter } from './sentences.js';
import type { SentencePrefetch } from './sentence-prefetch.js';
import type { ChatMessage, Responder, ResponderEvent, RespondOptions } from './types.js';

/** How a speculation synthesizes its first sentence ahead: a cutter with the reply's rules, and the request. */
export interface FirstSentencePrefetch {
  cutter: SentenceCutter;
  start(sentence: string, signal: AbortSignal): SentencePrefetch;
}

export type SpeculationOutcome = 'used' | 'discarded';

export interface SpeculationBounds {
  /** Text characters held before adoption; more and the speculation is discarded. Default 4000. */
  maxHeldChars?: number;
  /** Events held before adoption (text deltas, tool calls); more and the speculation is discarded. Default 1000. */
  maxHeldEvents?: number;
}

const DEFAULT_MAX_HELD_CHARS = 4_000;
const DEFAULT_MAX_HELD_EVENTS = 1_000;

/**
 * Two transcripts say the same thing when they differ only in case, punctuation and spacing (a streaming ASR and a
 * batch one punctuate a pause differently).
 */
export function sameWords(a: string, b: string): boolean {
  return wordsOf(a) === wordsOf(b);
}

function wordsOf(text: string): string {
  return text.normalize('NFKC').toLocaleLowerCase().replace(/[\p{P}\p{S}]+/gu, ' ').replace(/\s+/g, ' ').trim();
}

export class SpeculativeReply {
  /** What the caller had said when it was asked. */
  readonly transcript: string;
  /** The conversation it was asked on, as a key the asker compares (the messages before the caller's words). */
  readonly conversationKey: string;
  readonly startedAtMs = performance.now();
  private readonly controller = new AbortController();
  private readonly held: ResponderEvent[] = [];
  private heldChars = 0;
  private readonly maxHeldChars: number;
  private readonly maxHeldEvents: number;
  private isDone = false;
  private failure: unknown;
  private wake: (() => void) | null = null;
  private state: 'pending' | 'adopted' | 'discarded' = 'pending';
  private readonly pump: Promise<void>;
  private readonly signal: AbortSignal;
  private firstSentence: SentencePrefetch | undefined;

  constructor(responder: Responder, messages: readonly ChatMessage[], transcript: string, conversationKey: string, parentSignal: AbortSignal,
    options?: RespondOptions, bounds: SpeculationBounds = {}, private readonly prefetch?: FirstSentencePrefetch) {
    this.transcript = transcript;
    this.conversationKey = conversationKey;
    this.maxHeldChars = bounds.maxHeldChars ?? DEFAULT_MAX_HELD_CHARS;
    this.maxHeldEvents = bounds.maxHeldEvents ?? DEFAULT_MAX_HELD_EVENTS;
    const signal = AbortSignal.any([this.controller.signal, parentSignal]);
    this.signal = signal;
    this.pump = this.run(responder.respond(messages, signal, options));
  }

  /** Not yet adopted or discarded. */
  get isPending(): boolean {
    return this.state === 'pending';
  }

  /** Whether the model has sent anything yet (for logs: how much time the speculation won). */
  get hasFirstEvent(): boolean {
    return this.held.length > 0 || this.state === 'adopted';
  }

  /** The first sentence's audio, asked for while held (undefined: no prefetch, or no whole sentence yet). */
  get firstSentenceAudio(): SentencePrefetch | undefined {
    return this.firstSentence;
  }

  /** Whether this speculation answers `transcript` on the conversation `conversationKey`. */
  answers(transcript: string, conversationKey: string): boolean {
    // a speculation whose request failed is not used: the turn asks again, within its own budget
    return this.state === 'pending' && this.failure === undefined && conversationKey === this.conversationKey && sameWords(transcript, this.transcript);
  }

  /** Aborts the request; nothing of it is ever handed out. */
  discard(reason: string): void {
    if (this.state !== 'pending') return;
    this.state = 'discarded';
    this.held.length = 0;
    this.controller.abort(new Error(`speculation discarded: ${reason}`));
    this.poke();
  }

  /**
   * The reply's events: those held, then the rest as the model sends them. `signal` (the reply's: barge-in, a newer
   * turn) aborts the request from now on. Once only.
   */
  adopt(signal: AbortSignal): AsyncIterable<ResponderEvent> {
    if (this.state !== 'pending') throw new Error(`a speculation can be adopted only once and only while pending (it is ${this.state})`);
    this.state = 'adopted';
    if (signal.aborted) this.controller.abort(signal.reason);
    else signal.addEventListener('abort', () => this.controller.abort(signal.reason), { once: true, signal: this.controller.signal });
    return this.drain();
  }

  private async *drain(): AsyncIterable<ResponderEvent> {
    for (;;) {
      const event = this.held.shift();
      if (event !== undefined) {
        yield event;
        continue;
      }
      if (this.isDone) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    await this.pump;
    if (this.failure !== undefined) throw this.failure;
  }

  private async run(events: AsyncIterable<ResponderEvent>): Promise<void> {
    try {
      for await (const event of events) {
        if (this.state === 'discarded') break;
        if (this.state === 'pending') {
          if (event.kind === 'text') this.heldChars += event.delta.length;
          if (this.heldChars > this.maxHeldChars || this.held.length >= this.maxHeldEvents) {
            this.discard('reply larger than the held bound');
            break;
          }
        }
        this.held.push(event);
        if (event.kind === 'text' && this.firstSentence === undefined) this.cutFirstSentence(this.prefetch?.cutter.push(event.delta));
        this.poke();
      }
      // a reply that is one sentence without an end mark is whole only now
      if (this.state !== 'discarded' && this.firstSentence === undefined) this.cutFirstSentence(this.prefetch?.cutter.flush());
    } catch (error) {
      if (this.state !== 'discarded') this.failure = error;
    } finally {
      this.isDone = true;
      this.poke();
    }
  }

  /** Starts the first sentence's audio once the cutter gives a sentence (once; not after a discard). */
  private cutFirstSentence(sentences: readonly string[] | undefined): void {
    const first = sentences?.[0];
    if (first === undefined || this.firstSentence !== undefined || this.prefetch === undefined || this.state === 'discarded') return;
    this.firstSentence = this.prefetch.start(first, this.signal);
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
