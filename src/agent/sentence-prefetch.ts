// The first sentence of an early reply (speculation.ts), synthesized while the reply is still only held: once the
// model's first sentence is complete, its audio is asked for at once and kept, never played, so that if the pause
// becomes the turn's end the reply's first frames are ready (or nearly) instead of a TTS request away. If the reply
// is thrown away, so is this: the request is aborted with the speculation and the audio dropped. Kept audio is bounded
// by speakSentence's own cap on one sentence (MAX_SENTENCE_AUDIO_MS).
// Adopting it: the reply's own cutter makes the same first sentence from the same text, and playInto hands that
// sentence's audio to the reply's sink as if speakSentence had made it (what is kept at once, the rest as it comes).
import { speakSentence, UtteranceFrameStreams, type SentenceAudio, type SentenceAudioDeps, type SentenceAudioSink } from './sentence-audio.js';

export class SentencePrefetch {
  private readonly pieces: Uint8Array[] = [];
  private sink: SentenceAudioSink | undefined;
  private isSinkStopped = false;
  private readonly done: Promise<SentenceAudio>;
  private isAttached = false;

  constructor(readonly text: string, signal: AbortSignal, deps: Omit<SentenceAudioDeps, 'streams'>) {
    // its own frame streams: the reply's utterance has its own for the sentences after this one
    this.done = speakSentence(text, signal, { ...deps, streams: new UtteranceFrameStreams() }, (mulaw) => this.onPiece(mulaw));
    // a prefetch nobody adopts must not leave an unhandled rejection behind (its failure is seen only by playInto)
    this.done.catch(() => undefined);
  }

  /**
   * Hands the sentence's audio to `sink` (as speakSentence would: `isFirst` on the first piece), then the rest as the
   * provider sends it; resolves like speakSentence (throws if it failed before any audio). Once only.
   */
  async playInto(sink: SentenceAudioSink): Promise<SentenceAudio> {
    if (this.isAttached) throw new Error('a prefetched sentence is played once');
    this.isAttached = true;
    const startMs = performance.now();
    let handed = 0;
    const hand = (mulaw: Uint8Array): boolean => {
      const isFirst = handed === 0;
      if (!sink(mulaw, isFirst)) {
        this.isSinkStopped = true;
        return false;
      }
      handed++;
      return true;
    };
    for (const piece of this.pieces.splice(0)) if (!hand(piece)) break;
    this.sink = this.isSinkStopped ? undefined : hand;
    const audio = await this.done;
    // what the reply's sink took, and how long the caller waited for it from here (the prefetch's own figures
    // count from its request, before the turn ended)
    return { ...audio, pieces: handed, wasStopped: this.isSinkStopped || audio.wasStopped, firstAudioMs: handed > 0 ? Math.round(performance.now() - startMs) : undefined };
  }

  private onPiece(mulaw: Uint8Array): boolean {
    if (this.isSinkStopped) return false;
    if (this.sink !== undefined) return this.sink(mulaw, false);
    this.pieces.push(mulaw);
    return true;
  }
}
