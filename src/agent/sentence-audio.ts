// One sentence of a reply, from text to 8 kHz mu-law handed to the playout. A synthesizer that streams
// (Synthesizer.synthesizeStream) has each piece converted as it arrives and handed over at once, so that the first
// frames of the sentence play while the provider is still synthesizing the rest; one that cannot stream gives the
// whole sentence, converted in one DSP pool job as before.
//
// Where the conversion runs: a streamed piece in the calling thread (MulawFrameStream: the resampler's state must
// carry across pieces, and one crossing into the addon per piece costs far less than a pool task; see
// bench/RESULTS.md, streamed TTS), a whole sentence in the pool (seconds of audio: worth moving off the edge thread).
// A piece is never a pool task.
//
// A stream that fails after some of the sentence was handed over keeps what was handed over (it may already be
// playing): the rest of that sentence is skipped and the failure is returned, for the pipeline to log and go on with
// the next sentence. A failure before any audio is thrown, as from synthesize(). A stream that goes on past
// MAX_SENTENCE_AUDIO_MS is such a failure too (bounded memory whatever the provider sends).
import { MulawFrameStream } from '../audio/mulaw-frame-stream.js';
import { FRAME_BYTES } from '../twilio/media-format.js';
import { MAX_SENTENCE_AUDIO_MS, ProviderError, type SampleRateHz, type SynthesisResult, type Synthesizer } from './types.js';

export { MAX_SENTENCE_AUDIO_MS } from './types.js';
const MAX_SENTENCE_FRAMES = MAX_SENTENCE_AUDIO_MS / 20;

/** The frame streams of one utterance, one per rate met (normally one), reused sentence after sentence. */
export class UtteranceFrameStreams {
  private readonly streams = new Map<SampleRateHz, MulawFrameStream>();

  for(rateHz: SampleRateHz): MulawFrameStream {
    let stream = this.streams.get(rateHz);
    if (stream === undefined) {
      stream = new MulawFrameStream(rateHz);
      this.streams.set(rateHz, stream);
    }
    return stream;
  }
}

export interface SentenceAudioDeps {
  synthesizer: Synthesizer;
  /** A whole sentence's audio -> mu-law frames (the DSP pool job, or as it is when already mu-law). */
  toMulaw: (result: SynthesisResult, signal: AbortSignal) => Promise<Uint8Array>;
  streams: UtteranceFrameStreams;
}

/**
 * Told of each piece of mu-law (whole frames) as it is ready; `isFirst`: the sentence's first. Returns false when
 * nothing more should be handed over (the reply was aborted, the call is gone): the request is then ended.
 */
export type SentenceAudioSink = (mulaw: Uint8Array, isFirst: boolean) => boolean;

export interface SentenceAudio {
  /** The provider that synthesized it. */
  provider: string;
  /** Frames handed over. */
  frames: number;
  /** Whether it came piece by piece. */
  isStreamed: boolean;
  /** Pieces of mu-law handed over (1 for a whole sentence). */
  pieces: number;
  /** ms from the request to the first frames handed over (undefined when none were). */
  firstAudioMs: number | undefined;
  /** The sink refused more (aborted): the rest of the sentence was not asked for. */
  wasStopped: boolean;
  /** A stream that failed after some of the sentence was handed over: what it failed with. */
  lateError: unknown;
}

/** Synthesizes `text` and hands its audio to `sink` as it becomes ready (see the top of this file). */
export async function speakSentence(text: string, signal: AbortSignal, deps: SentenceAudioDeps, sink: SentenceAudioSink): Promise<SentenceAudio> {
  const { synthesizer } = deps;
  const startMs = performance.now();
  const out: SentenceAudio = {
    provider: synthesizer.name, frames: 0, isStreamed: synthesizer.synthesizeStream !== undefined, pieces: 0, firstAudioMs: undefined,
    wasStopped: false, lateError: undefined,
  };
  const hand = (mulaw: Uint8Array): boolean => {
    if (mulaw.length === 0) return true;
    const isFirst = out.pieces === 0;
    if (!sink(mulaw, isFirst)) {
      out.wasStopped = true;
      return false;
    }
    if (isFirst) out.firstAudioMs = Math.round(performance.now() - startMs);
    out.pieces++;
    out.frames += mulaw.length / FRAME_BYTES;
    return true;
  };
  if (synthesizer.synthesizeStream === undefined) {
    const result = await synthesizer.synthesize(text, signal);
    out.provider = (result as { provider?: string }).provider ?? synthesizer.name;
    hand(await deps.toMulaw(result, signal));
    return out;
  }
  let stream: MulawFrameStream | undefined;
  let hasFailedBeforeAudio = false;
  try {
    for await (const chunk of synthesizer.synthesizeStream(text, signal)) {
      out.provider = chunk.provider ?? out.provider;
      let mulaw: Uint8Array;
      if (chunk.isWhole === true) {
        mulaw = await deps.toMulaw(chunk, signal);
      } else {
        stream ??= deps.streams.for(chunk.sampleRateHz);
        if (stream.fromHz !== chunk.sampleRateHz) {
          throw new ProviderError(`${out.provider}: the stream changed its rate from ${stream.fromHz} to ${chunk.sampleRateHz} Hz`, out.provider, 'bad-response', true);
        }
        mulaw = chunk.encoding === 'mulaw' ? stream.pushMulaw(chunk.audio as Uint8Array) : stream.push(chunk.audio as Int16Array);
      }
      if (out.frames + mulaw.length / FRAME_BYTES > MAX_SENTENCE_FRAMES) {
        throw new ProviderError(`${out.provider}: more than ${MAX_SENTENCE_AUDIO_MS / 1000} s of audio for one sentence`, out.provider, 'bad-response', false);
      }
      if (!hand(mulaw)) break; // leaving the loop ends the request
    }
  } catch (error) {
    hasFailedBeforeAudio = out.pieces === 0;
    if (hasFailedBeforeAudio) throw error;
    out.lateError = error;
  } finally {
    // the tail of what was resampled (a sentence cut short ends on a whole frame too); nothing after a stop
    const tail = stream?.end();
    if (tail !== undefined && !out.wasStopped && !hasFailedBeforeAudio && !signal.aborted) hand(tail);
  }
  return out;
}
