// OpenAI text-to-speech (audio.speech.create), the second synthesizer (TTS_PROVIDER=openai). It asks for
// response_format 'pcm': raw 24 kHz 16-bit little-endian mono with no header, which the DSP pool resamples to 8 kHz
// mu-law. Without that format the API answers mp3. One time limit per sentence covers the request and the body; the
// turn's AbortSignal closes the socket on barge-in.
import OpenAI from 'openai';
import { startDeadline, toProviderError } from './provider-call.js';
import { pcm16FromBytes, stripWavHeader } from './wav-header.js';
import type { SynthesisResult, Synthesizer } from './types.js';

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
}
