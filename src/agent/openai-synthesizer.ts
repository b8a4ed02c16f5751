// OpenAI text-to-speech (audio.speech.create), the second synthesizer (TTS_PROVIDER=openai). It asks for
// response_format 'pcm': raw 24 kHz 16-bit little-endian mono with no header, which the DSP pool resamples to 8 kHz
// mu-law. Without that format the API answers mp3. One time limit per sentence covers the request and the body; the
// turn's AbortSignal closes the socket on barge-in.
// Streamed (synthesizeStream): the same request, its body read as it arrives (the API sends the audio with chunked
// transfer encoding as it is synthesized: stream_format 'audio', the default and the only one tts-1 takes); the
// time limit then bounds the wait for the answer and for each next piece of the body, not the whole sentence.
import OpenAI from 'openai';
import { PcmByteStream } from './pcm-bytes.js';
import { startDeadline, toProviderError } from './provider-call.js';
import { pcm16FromBytes, stripWavHeader } from './wav-header.js';
import { ProviderError, type SynthesisChunk, type SynthesisResult, type Synthesizer } from './types.js';

export const OPENAI_PCM_RATE_HZ = 24_000;

export interface OpenAISynthesizerOptions {
  client: OpenAI;
  /** e.g. gpt-4o-mini-tts, tts-1 */
  model: string;
  /** e.g. alloy */
  voice: string;
  timeoutMs: number;
  /** Optional speaking style (gpt-4o-mini-tts only). */
  instructions?: string;
}

export class OpenAISynthesizer implements Synthesizer {
  readonly name = 'openai-tts';
  private readonly options: OpenAISynthesizerOptions;

  constructor(options: OpenAISynthesizerOptions) {
    this.options = options;
  }

  async synthesize(text: string, signal: AbortSignal): Promise<SynthesisResult> {
    const { client, model, voice, timeoutMs, instructions } = this.options;
    const deadline = startDeadline(signal, timeoutMs);
    try {
      const response = await client.audio.speech.create(
        { model, voice, input: text, response_format: 'pcm', ...(instructions !== undefined ? { instructions } : {}) },
        { signal: deadline.signal, maxRetries: 0, timeout: timeoutMs + 1000 },
      );
      const bytes = new Uint8Array(await response.arrayBuffer());
      // 'pcm' has no header; a proxy that answers WAV anyway must not put one in the caller's ear
      return { audio: pcm16FromBytes(stripWavHeader(bytes).data), encoding: 'pcm16', sampleRateHz: OPENAI_PCM_RATE_HZ };
    } catch (error) {
      throw toProviderError(this.name, error, deadline);
    } finally {
      deadline.dispose();
    }
  }

  async *synthesizeStream(text: string, signal: AbortSignal): AsyncIterable<SynthesisChunk> {
    const { client, model, voice, timeoutMs, instructions } = this.options;
    const deadline = startDeadline(signal, timeoutMs);
    // a reader that stops early (the pipeline had enough, or gave up) closes the request, not only a barge-in
    const stop = new AbortController();
    try {
      const response = await client.audio.speech.create(
        { model, voice, input: text, response_format: 'pcm', ...(instructions !== undefined ? { instructions } : {}) },
        // the SDK's own timeout covers only the wait for the headers; the deadline (restarted per piece) the body
        { signal: AbortSignal.any([deadline.signal, stop.signal]), maxRetries: 0, timeout: timeoutMs + 1000 },
      );
      const body = response.body;
      if (body === null) throw new ProviderError(`${this.name}: the answer has no body`, this.name, 'bad-response', true);
      const bytes = new PcmByteStream();
      let samples = 0;
      for await (const piece of body as AsyncIterable<Uint8Array>) {
        deadline.restart();
        const pcm = bytes.push(piece);
        if (pcm.length === 0) continue;
        samples += pcm.length;
        yield { audio: pcm, encoding: 'pcm16', sampleRateHz: OPENAI_PCM_RATE_HZ };
      }
      bytes.end();
      if (samples === 0) throw new ProviderError(`${this.name}: the answer had no audio`, this.name, 'bad-response', true);
    } catch (error) {
      throw toProviderError(this.name, error, deadline);
    } finally {
      stop.abort(new Error('the reader stopped'));
      deadline.dispose();
    }
  }
}
