// A sentence of synthesized speech that arrives in pieces (a streamed TTS response) -> 8 kHz mu-law in whole 20 ms
// frames, as each piece arrives, so that its first frames can play before the rest has been synthesized. State is
// kept across pieces: the streaming resampler's filter history (so a border between two pieces is inaudible and
// exact), the samples of a partial frame (carried into the next piece), and the resampler's delay still to drop.
// end() drains the resampler and pads the last frame with silence. The frames equal what the whole-sentence pool job
// (dsp-worker.ts pcmToMulawFrames, resampleWhole) makes of the same audio, sample for sample.
//
// It runs in the calling thread, not in the DSP pool: the resampler's state cannot cross threads, and a piece costs
// one addon crossing plus the filter (bench/dsp/streamed-tts.ts measures it against the pool job per call-second).
// One instance per utterance: end() leaves it ready for the utterance's next sentence.
import { FRAME_BYTES, MULAW_SILENCE_BYTE, SAMPLE_RATE_HZ } from '../twilio/media-format.js';
import { mulawDecode, mulawEncodeInto, Resampler, type SampleRateHz } from './dsp.js';

export class MulawFrameStream {
  readonly fromHz: SampleRateHz;
  private readonly resampler: Resampler | undefined;
  /** Samples at 8 kHz of the frame not yet complete (fewer than FRAME_BYTES). */
  private readonly carry = new Int16Array(FRAME_BYTES);
  private carryLength = 0;
  /** The resampler's output for the current piece (grown when a piece is longer than any before). */
  private scratch = new Int16Array(0);
  /** Output samples still to drop at the start of this sentence (the resampler's group delay). */
  private delayLeft: number;
  /** Input samples of this sentence so far, and 8 kHz samples given out (carry included): the length is exact. */
  private samplesIn = 0;
  private samplesOut = 0;

  constructor(fromHz: SampleRateHz) {
    this.fromHz = fromHz;
    this.resampler = fromHz === SAMPLE_RATE_HZ ? undefined : new Resampler(fromHz, SAMPLE_RATE_HZ);
    this.delayLeft = this.resampler?.delaySamples ?? 0;
  }

  /** A piece of PCM at fromHz -> the whole frames it completes (possibly none), as mu-law bytes. */
  push(pcm: Int16Array): Uint8Array {
    if (!(pcm instanceof Int16Array)) throw new TypeError('MulawFrameStream.push takes an Int16Array');
    this.samplesIn += pcm.length;
    let pcm8k = pcm;
    if (this.resampler !== undefined) {
      // into a scratch buffer kept across pieces: no typed array made by the addon per piece
      const needed = this.resampler.outputLengthFor(pcm.length);
      if (this.scratch.length < needed) this.scratch = new Int16Array(Math.max(needed, this.scratch.length * 2));
      pcm8k = this.scratch.subarray(0, this.resampler.processInto(pcm, this.scratch));
    }
    return this.frames(this.dropDelay(pcm8k), false);
  }

  /** A piece that is already 8 kHz mu-law (a provider that answers MULAW): decoded, then framed like PCM. */
  pushMulaw(codes: Uint8Array): Uint8Array {
    if (this.resampler !== undefined) throw new RangeError(`mu-law pieces must be 8000 Hz (this stream is ${this.fromHz} Hz)`);
    return this.push(mulawDecode(codes));
  }

  /** The sentence ended: the resampler's tail and the last frame, padded with silence. Ready for the next sentence. */
  end(): Uint8Array {
    // exactly ceil(in * 8000 / fromHz) samples in all, as resampleWhole gives (it pads a short tail with zeros,
    // which the padded last frame's silence equals)
    const expected = Math.ceil((this.samplesIn * SAMPLE_RATE_HZ) / this.fromHz);
    let tail = this.resampler !== undefined && this.samplesIn > 0 ? this.dropDelay(this.resampler.flush()) : new Int16Array(0);
    const room = expected - (this.samplesOut + tail.length);
    if (room < 0) tail = tail.subarray(0, Math.max(0, tail.length + room));
    const out = this.frames(tail, true);
    this.resampler?.reset();
    this.carryLength = 0;
    this.delayLeft = this.resampler?.delaySamples ?? 0;
    this.samplesIn = 0;
    this.samplesOut = 0;
    return out;
  }

  private dropDelay(pcm8k: Int16Array): Int16Array {
    if (this.delayLeft === 0) return pcm8k;
    const drop = Math.min(this.delayLeft, pcm8k.length);
    this.delayLeft -= drop;
    return pcm8k.subarray(drop);
  }

  /** carry + pcm8k -> whole frames; the rest becomes the carry (or, when `isLast`, a padded last frame). */
  private frames(pcm8k: Int16Array, isLast: boolean): Uint8Array {
    this.samplesOut += pcm8k.length;
    const total = this.carryLength + pcm8k.length;
    const frames = isLast ? Math.ceil(total / FRAME_BYTES) : Math.floor(total / FRAME_BYTES);
    if (frames === 0) {
      this.carry.set(pcm8k, this.carryLength);
      this.carryLength = total;
      return new Uint8Array(0);
    }
    const out = new Uint8Array(frames * FRAME_BYTES);
    const carried = this.carryLength;
    if (carried > 0) mulawEncodeInto(this.carry.subarray(0, carried), out);
    const used = Math.min(pcm8k.length, frames * FRAME_BYTES - carried);
    if (used > 0) mulawEncodeInto(pcm8k.subarray(0, used), out.subarray(carried));
    if (isLast) {
      out.fill(MULAW_SILENCE_BYTE, carried + used);
      this.carryLength = 0;
    } else {
      const rest = pcm8k.subarray(used);
      this.carry.set(rest, 0);
      this.carryLength = rest.length;
    }
    return out;
  }
}
