/**
 * Resampling 8k -> 16k (caller audio for ASR) and 24k -> 8k (TTS audio for the phone), native Resampler vs
 * `wave-resampler` (pure JS, bulk-only, sinc + its default IIR low-pass) and `@alexanderolsen/libsamplerate-js`
 * (libsamplerate in WASM, all three sinc converters). Streaming = one call per 20 ms chunk with state carried
 * (wave-resampler has no state: each chunk is resampled on its own, as a user of it would have to); bulk = 10 s in
 * one call. Everything goes int16 in -> int16 out, since that is what the server has and needs, so the peers' float
 * conversions are part of their cost. Quality is measured on the same code paths and printed beside the speed.
 */

import libsamplerate from '@alexanderolsen/libsamplerate-js';
import waveResampler from 'wave-resampler';

import { Resampler, type SampleRateHz } from '../../src/audio/dsp.js';
import { FRAME_MS } from '../../src/twilio/media-format.js';
import { jsMulawDecodeInto } from './js-mulaw.js';
import { formatDb, rejection, tone, toneGainDb, toneSnrDb, type Rejection } from './quality.js';
import { fastestNative, fastestPeer, fixture, fmtRatio, speedTable, type SectionResult, type SpeedRow, type TargetCheck } from './report.js';
import { consume, timeGroup, type TimedOp, type TimingOptions } from './timing.js';

const BULK_S = 10;
const QUALITY_BAR_DB = 60;   // issue 2: SNR >= 60 dB for a 1 kHz tone; a 6 kHz tone >= 60 dB down through 24k -> 8k

/** Processes one input chunk; the returned view is valid until the next call. */
type ChunkFn = (chunk: Int16Array) => Int16Array;
/** Resamples a whole signal (including the tail). */
type BulkFn = (input: Int16Array) => Int16Array;

interface ResamplerImpl {
  impl: string;
  isNative: boolean;
  note?: string;
  streamNote?: string;   // replaces `note` on the streaming rows
  makeStream(fromHz: SampleRateHz, toHz: SampleRateHz): Promise<ChunkFn>;
  makeBulk(fromHz: SampleRateHz, toHz: SampleRateHz): Promise<BulkFn>;
}

function toInt16Into(x: ArrayLike<number>, n: number, scale: number, out: Int16Array): Int16Array {
  for (let i = 0; i < n; i++) {
    const v = Math.round(x[i]! * scale);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return n === out.length ? out : out.subarray(0, n);
}

function concat(a: Int16Array, b: Int16Array): Int16Array {
  if (b.length === 0) return a;
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const nativeImpl: ResamplerImpl = {
  impl: 'native Resampler',
  isNative: true,
  note: 'process() allocates its output',
  makeStream: async (fromHz, toHz) => {
    const r = new Resampler(fromHz, toHz);
    return (chunk) => r.process(chunk);
  },
  makeBulk: async (fromHz, toHz) => {
    const r = new Resampler(fromHz, toHz);
    return (input) => concat(r.process(input), r.flush());   // flush() also resets it for the next call
  },
};

const nativeIntoImpl: ResamplerImpl = {
  impl: 'native Resampler.processInto',
  isNative: true,
  note: 'no allocation',
  makeStream: async (fromHz, toHz) => {
    const r = new Resampler(fromHz, toHz);
    let out = new Int16Array(0);
    return (chunk) => {
      const need = r.outputLengthFor(chunk.length);
      if (out.length < need) out = new Int16Array(need + 16);
      const n = r.processInto(chunk, out);
      return out.subarray(0, n);
    };
  },
  makeBulk: async (fromHz, toHz) => {
    const r = new Resampler(fromHz, toHz);
    return (input) => {
      const out = new Int16Array(r.outputLengthFor(input.length) + r.delaySamples + 16);
      const n = r.processInto(input, out);
      const tail = r.flush();
      out.set(tail, n);
      return out.subarray(0, n + tail.length);
    };
  },
};

const waveResamplerImpl: ResamplerImpl = {
  impl: 'wave-resampler sinc',
  isNative: false,
  note: 'Float64, IIR low-pass run forwards and backwards',
  streamNote: 'no streaming API: each 20 ms chunk resampled on its own',
  makeStream: async (fromHz, toHz) => {
    let input = new Float64Array(0);
    let output = new Int16Array(0);
    const details = { method: 'sinc' };
    return (chunk) => {
      if (input.length !== chunk.length) input = new Float64Array(chunk.length);
      input.set(chunk);   // it filters its input in place when downsampling: always hand it a copy
      const y = waveResampler.resample(input, fromHz, toHz, details);
      if (output.length < y.length) output = new Int16Array(y.length);
      return toInt16Into(y, y.length, 1, output);
    };
  },
  makeBulk: async (fromHz, toHz) => (input) => {
    const y = waveResampler.resample(Float64Array.from(input), fromHz, toHz, { method: 'sinc' });
    return toInt16Into(y, y.length, 1, new Int16Array(y.length));
  },
};

function libsamplerateImpl(name: 'BEST_QUALITY' | 'MEDIUM_QUALITY' | 'FASTEST'): ResamplerImpl {
  const converterType = libsamplerate.ConverterType[`SRC_SINC_${name}`];
  return {
    impl: `libsamplerate-js SINC_${name}`,
    isNative: false,
    note: 'WASM, Float32',
    makeStream: async (fromHz, toHz) => {
      const src = await libsamplerate.create(1, fromHz, toHz, { converterType });
      let input = new Float32Array(0);
      let output = new Float32Array(0);
      let outputInt16 = new Int16Array(0);
      const written = { frames: 0 };
      return (chunk) => {
        if (input.length !== chunk.length) {
          input = new Float32Array(chunk.length);
          output = new Float32Array(Math.ceil((chunk.length * toHz) / fromHz) + 64);
          outputInt16 = new Int16Array(output.length);
        }
        for (let i = 0; i < chunk.length; i++) input[i] = chunk[i]! / 32768;
        src.full(input, output, written);   // the streaming ("full") API, reusing its output buffer
        return toInt16Into(output, written.frames, 32768, outputInt16);
      };
    },
    makeBulk: async (fromHz, toHz) => {
      const src = await libsamplerate.create(1, fromHz, toHz, { converterType });
      return (input) => {
        const x = new Float32Array(input.length);
        for (let i = 0; i < input.length; i++) x[i] = input[i]! / 32768;
        const y = src.simple(x);
        return toInt16Into(y, y.length, 32768, new Int16Array(y.length));
      };
    },
  };
}

const impls: ResamplerImpl[] = [
  nativeImpl,
  nativeIntoImpl,
  waveResamplerImpl,
  libsamplerateImpl('BEST_QUALITY'),
  libsamplerateImpl('MEDIUM_QUALITY'),
  libsamplerateImpl('FASTEST'),
];

function chunks(signal: Int16Array, rateHz: number): Int16Array[] {
  const n = (rateHz * FRAME_MS) / 1000;
  const out: Int16Array[] = [];
  for (let off = 0; off + n <= signal.length; off += n) out.push(signal.subarray(off, off + n));
  return out;
}

function runStream(fn: ChunkFn, parts: readonly Int16Array[]): Int16Array {
  const pieces: Int16Array[] = [];
  let total = 0;
  for (const p of parts) {
    const y = fn(p).slice();
    pieces.push(y);
    total += y.length;
  }
  const out = new Int16Array(total);
  let off = 0;
  for (const y of pieces) {
    out.set(y, off);
    off += y.length;
  }
  return out;
}

interface Quality { snrDb: number; fittedHz: number; bandEdgeGainDb: number; rejection: Rejection | undefined }

const BAND_EDGE_HZ = 3400;   // the top of the telephone band: a resampler for phone audio should pass it flat

function qualityText(q: Quality): string {
  const ppm = ((q.fittedHz - 1000) / 1000) * 1e6;
  let text = `SNR ${formatDb(q.snrDb)} dB`;
  if (Math.abs(ppm) >= 10) text += ` (tone at ${q.fittedHz.toFixed(2)} Hz)`;
  const gain = Math.abs(q.bandEdgeGainDb) < 0.005 ? '0.00' : `${q.bandEdgeGainDb > 0 ? '+' : ''}${q.bandEdgeGainDb.toFixed(2)}`;
  text += `; 3.4 kHz ${gain} dB`;
  if (q.rejection) text += `; 6 kHz ${q.rejection.isSilent ? '>= ' : ''}${formatDb(q.rejection.db)} dB down${q.rejection.isSilent ? ' (all zero)' : ''}`;
  return text;
}

function meetsBar(q: Quality): boolean {
  return q.snrDb >= QUALITY_BAR_DB && (q.rejection === undefined || q.rejection.db >= QUALITY_BAR_DB);
}

async function measureQuality(impl: ResamplerImpl, fromHz: SampleRateHz, toHz: SampleRateHz, isStreaming: boolean): Promise<Quality> {
  const run = async (signal: Int16Array): Promise<Int16Array> =>
    isStreaming ? runStream(await impl.makeStream(fromHz, toHz), chunks(signal, fromHz)) : (await impl.makeBulk(fromHz, toHz))(signal);
  const low = tone(1000, fromHz, 1);
  const fit = toneSnrDb(await run(low), 1000, toHz);
  let high: Rejection | undefined;
  if (toHz < fromHz && 6000 >= toHz / 2) {
    const input = tone(6000, fromHz, 1);
    high = rejection(input, fromHz, await run(input), toHz);
  }
  const edge = tone(BAND_EDGE_HZ, fromHz, 1);
  const bandEdgeGainDb = toneGainDb(edge, fromHz, await run(edge), toHz);
  return { ...fit, bandEdgeGainDb, rejection: high };
}

/** 10 s of real speech at `rateHz` (conv-en, brought up from 8 kHz by libsamplerate's best converter when needed). */
async function speech(rateHz: SampleRateHz): Promise<Int16Array> {
  const codes = fixture('conv-en.8k.ul').subarray(0, 8000 * BULK_S);
  const pcm8k = new Int16Array(codes.length);
  jsMulawDecodeInto(codes, pcm8k);
  if (rateHz === 8000) return pcm8k;
  const up = await (await libsamplerateImpl('BEST_QUALITY').makeBulk(8000, rateHz))(pcm8k);
  return up.subarray(0, rateHz * BULK_S);
}

export async function benchResample(timing: TimingOptions): Promise<SectionResult> {
  const rows: SpeedRow[] = [];
  const targets: TargetCheck[] = [];
  const notes: string[] = [];
  const qualities = new Map<SpeedRow, Quality>();
  const directions: [SampleRateHz, SampleRateHz][] = [[8000, 16000], [24000, 8000]];
  for (const [fromHz, toHz] of directions) {
    const signal = await speech(fromHz);
    const parts = chunks(signal, fromHz);
    const frames = parts.length;   // 20 ms frames in the 10 s signal
    const label = `${fromHz / 1000}k->${toHz / 1000}k`;
    for (const isStreaming of [true, false]) {
      const group = isStreaming ? `${label}, 20 ms chunks (streaming)` : `${label}, 10 s in one call`;
      const measured: Quality[] = [];
      const ops: TimedOp[] = [];
      for (const impl of impls) {
        measured.push(await measureQuality(impl, fromHz, toHz, isStreaming));
        if (isStreaming) {
          // The stream's state simply carries on across repetitions: every rep does the same work.
          const fn = await impl.makeStream(fromHz, toHz);
          ops.push({ framesPerOp: frames, op: () => {
            let acc = 0;
            for (let k = 0; k < frames; k++) acc += fn(parts[k]!).length;
            consume(acc);
          } });
        } else {
          const fn = await impl.makeBulk(fromHz, toHz);
          ops.push({ framesPerOp: frames, op: () => consume(fn(signal).length) });
        }
      }
      const timings = timeGroup(ops, timing);
      impls.forEach((impl, k) => {
        const quality = measured[k]!;
        const row: SpeedRow = {
          group,
          impl: impl.impl,
          isNative: impl.isNative,
          isPeerEligible: meetsBar(quality),
          nsPerFrame: timings[k]!.nsPerFrame,
          quality: qualityText(quality) + (meetsBar(quality) ? '' : ' (below the 60 dB bar)'),
          ...(impl.note ? { note: isStreaming && impl.streamNote ? impl.streamNote : impl.note } : {}),
        };
        rows.push(row);
        qualities.set(row, quality);
      });
      const native = fastestNative(rows, group)!;
      const nativeQ = qualities.get(native)!;
      const peer = fastestPeer(rows, group);
      const flatPeer = rows
        .filter((r) => r.group === group && !r.isNative && r.isPeerEligible !== false &&
          Math.abs(qualities.get(r)!.bandEdgeGainDb) <= Math.abs(nativeQ.bandEdgeGainDb) + 0.1)
        .sort((a, b) => a.nsPerFrame - b.nsPerFrame)[0];
      const anyPeer = rows.filter((r) => r.group === group && !r.isNative).sort((a, b) => a.nsPerFrame - b.nsPerFrame)[0];
      if (!peer) {
        targets.push({ target: `resample ${group}: native >= 5x fastest peer at >= 60 dB`, measured: 'no peer meets the 60 dB bar', isMet: meetsBar(nativeQ) });
        continue;
      }
      const peerQ = qualities.get(peer)!;
      const ratio = peer.nsPerFrame / native.nsPerFrame;
      const isQualityAtLeastPeer = nativeQ.snrDb >= peerQ.snrDb - 0.5 &&
        Math.abs(nativeQ.bandEdgeGainDb) <= Math.abs(peerQ.bandEdgeGainDb) + 0.1 &&
        (nativeQ.rejection === undefined || peerQ.rejection === undefined || nativeQ.rejection.db >= peerQ.rejection.db - 0.5);
      targets.push({
        target: `resample ${group}: native >= 5x fastest peer at equal or better quality`,
        measured: `${fmtRatio(ratio)} vs ${peer.impl}; native ${qualityText(nativeQ)} vs peer ${qualityText(peerQ)}` +
          (isQualityAtLeastPeer ? '' : ' (peer measures higher quality; both pass the 60 dB bar)') +
          (flatPeer && flatPeer !== peer ? `; vs fastest peer as flat as native at 3.4 kHz (${flatPeer.impl}): ${fmtRatio(flatPeer.nsPerFrame / native.nsPerFrame)}` : '') +
          (anyPeer && anyPeer !== peer ? `; vs fastest peer at any quality (${anyPeer.impl}): ${fmtRatio(anyPeer.nsPerFrame / native.nsPerFrame)}` : ''),
        isMet: ratio >= 5 && meetsBar(nativeQ),
      });
    }
  }
  const ceiling = (rateHz: number): string => `${formatDb(toneSnrDb(tone(1000, rateHz, 1), 1000, rateHz).snrDb)} dB at ${rateHz / 1000} kHz`;
  notes.push(
    `The int16 ceiling for this tone (an exact 1 kHz sine at the output rate, rounded to int16): ${ceiling(16000)}, ${ceiling(8000)}. A figure at the ceiling means the resampler's own error is below int16 resolution.`,
    'Peers are compared against the fastest peer whose measured quality passes the issue-2 bar (1 kHz SNR >= 60 dB, and for 24k->8k a 6 kHz tone >= 60 dB down); faster peers below the bar are listed but not used for the ratio.',
    'Quality columns: SNR of a 1 kHz tone; the level of a 3.4 kHz tone (top of the telephone band) relative to its input, 0 dB = flat; for 24k->8k, how far down a 6 kHz tone comes out (it would alias to 2 kHz).',
    'SNR: 1 s of a -6 dBFS 1 kHz tone, amplitude, phase and frequency fitted (a resampler whose output is slightly time-stretched shows the fitted frequency), residual over the middle (0.1 s trimmed each side), after int16 rounding. wave-resampler in 20 ms chunks has no state across calls, so its chunk edges show up as noise.',
  );
  return { title: 'Resampling (int16 in, int16 out; 10 s of conv-en speech)', table: speedTable(rows), targets, notes };
}
