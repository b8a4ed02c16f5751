// The energy VAD on the reference calls (labels.json): exactly two turns in each, onsets within 150 ms of the
// labelled starts, ends within hangover + 150 ms of the labelled ends; and silence, white noise and hum alone
// give no turn. Turn start = the onset frame's time - onsetMs + one frame (when speech began).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FRAME_MS, mulawDecode, mulawEncode, SAMPLES_PER_FRAME_8K, Vad, VAD_DEFAULTS, VadEvent,
  type VadOptions } from '../../src/audio/dsp.js';

interface Labels { [name: string]: { utterances_s: [number, number][] } }
const labels = JSON.parse(readFileSync(new URL('../fixtures/labels.json', import.meta.url), 'utf8')) as Labels;
const call = (name: string): Int16Array => mulawDecode(new Uint8Array(readFileSync(new URL(`../fixtures/${name}.8k.ul`, import.meta.url))));

interface Turn { startMs: number; endMs: number | null }

/** Feeds 20 ms frames; turns with start = when speech began, end = time of the end event's frame. */
const turnsOf = (pcm: Int16Array, options?: VadOptions): Turn[] => {
  const vad = new Vad(options);
  const onsetFrames = Math.max(1, Math.ceil(vad.options.onsetMs / FRAME_MS));
  const turns: Turn[] = [];
  for (let f = 0; (f + 1) * SAMPLES_PER_FRAME_8K <= pcm.length; f++) {
    const r = vad.process(pcm.subarray(f * SAMPLES_PER_FRAME_8K, (f + 1) * SAMPLES_PER_FRAME_8K));
    const frameMs = f * FRAME_MS;
    if (r.event === VadEvent.SpeechStart) {
      expect(turns.at(-1)?.endMs ?? 0).not.toBeNull();
      turns.push({ startMs: frameMs - (onsetFrames - 1) * FRAME_MS, endMs: null });
      expect(r.isSpeech).toBe(true);
    } else if (r.event === VadEvent.SpeechEnd) {
      const open = turns.at(-1);
      expect(open?.endMs).toBeNull();
      open!.endMs = frameMs;
      expect(r.isSpeech).toBe(false);
    }
  }
  return turns;
};

/** Deterministic Gaussian white noise at `dbfs` RMS (mulberry32 + Box-Muller). */
const whiteNoise = (seconds: number, dbfs: number, seed = 42): Int16Array => {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const rms = 32768 * 10 ** (dbfs / 20);
  const out = new Int16Array(Math.round(seconds * 8000));
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.round(rms * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
  }
  return out;
};

/** Mains hum: 50 Hz with odd harmonics, at `dbfs` RMS. */
const hum = (seconds: number, dbfs: number): Int16Array => {
  const parts = [[50, 0.8], [150, 0.5], [250, 0.3]] as const;
  const norm = Math.sqrt(parts.reduce((s, [, g]) => s + (g * g) / 2, 0));
  const peak = (32768 * 10 ** (dbfs / 20)) / norm;
  const out = new Int16Array(Math.round(seconds * 8000));
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.round(peak * parts.reduce((s, [hz, g]) => s + g * Math.sin((2 * Math.PI * hz * i) / 8000), 0));
  }
  return out;
};

/** As the line would carry it: through mu-law and back. */
const overTheLine = (pcm: Int16Array): Int16Array => mulawDecode(mulawEncode(pcm));

describe('VAD on the reference calls', () => {
  for (const name of ['conv-en', 'conv-he', 'conv-en-noisy']) {
    it(`finds exactly the two labelled turns in ${name}`, () => {
      const turns = turnsOf(call(name));
      const expected = labels[name]!.utterances_s;
      expect(turns.length).toBe(2);
      turns.forEach((turn, i) => {
        const [startS, endS] = expected[i]!;
        expect(Math.abs(turn.startMs - startS * 1000), `turn ${i} start ${turn.startMs} ms`).toBeLessThanOrEqual(150);
        expect(turn.endMs).not.toBeNull();
        expect(Math.abs(turn.endMs! - endS * 1000), `turn ${i} end ${turn.endMs} ms`).toBeLessThanOrEqual(VAD_DEFAULTS.hangoverMs + 150);
      });
    });
  }

  it('splits a turn at a pause the hangover does not bridge (hangover 200 ms on conv-en)', () => {
    expect(turnsOf(call('conv-en'), { hangoverMs: 200 }).length).toBeGreaterThan(2);
  });
});

describe('VAD on line noise alone', () => {
  it('gives no turn on digital silence', () => {
    expect(turnsOf(new Int16Array(10 * 8000))).toEqual([]);
  });

  for (const dbfs of [-60, -50, -40, -35, -25]) {
    it(`gives no turn on white noise at ${dbfs} dBFS`, () => {
      expect(turnsOf(overTheLine(whiteNoise(10, dbfs)))).toEqual([]);
    });
  }

  for (const dbfs of [-50, -35, -25]) {
    it(`gives no turn on 50 Hz hum at ${dbfs} dBFS`, () => {
      expect(turnsOf(overTheLine(hum(10, dbfs)))).toEqual([]);
    });
  }

  it('ends the false turn of a noise that appears mid-call within floorWindowMs + hangover', () => {
    const pcm = new Int16Array(12 * 8000);
    pcm.set(whiteNoise(10, -35), 2 * 8000); // silence, then steady noise from 2 s
    const turns = turnsOf(overTheLine(pcm));
    expect(turns.length).toBe(1);
    expect(turns[0]!.endMs).not.toBeNull();
    expect(turns[0]!.endMs! - 2000).toBeLessThanOrEqual(VAD_DEFAULTS.floorWindowMs + VAD_DEFAULTS.hangoverMs + 500);
  });

  it('still finds speech 10 dB above the noise of the noisy call after the floor has settled', () => {
    const noisy = call('conv-en-noisy');
    const turns = turnsOf(noisy.subarray(5600 * 8));
    expect(turns.length).toBe(1); // the second utterance, 7.3 s into the call
  });
});

describe('VAD frame results', () => {
  it('reports level, floor and the onset on the frame where onsetMs is reached', () => {
    const vad = new Vad({ onsetMs: 60, hangoverMs: 60 });
    const quiet = new Int16Array(160);
    const loud = new Int16Array(160).map((_, i) => (i % 2 ? 8000 : -8000)); // -12.3 dBFS
    expect(vad.process(quiet)).toEqual({ levelDbfs: -100, floorDbfs: -50, isSpeech: false, event: VadEvent.None });
    expect(vad.process(loud).event).toBe(VadEvent.None);
    expect(vad.process(loud).event).toBe(VadEvent.None);
    const onset = vad.process(loud);
    expect(onset.event).toBe(VadEvent.SpeechStart);
    expect(onset.isSpeech).toBe(true);
    expect(onset.levelDbfs).toBeCloseTo(20 * Math.log10(8000 / 32768), 4);
    expect(vad.process(quiet).event).toBe(VadEvent.None);
    expect(vad.process(quiet).event).toBe(VadEvent.None);
    const end = vad.process(quiet);
    expect(end.event).toBe(VadEvent.SpeechEnd);
    expect(end.isSpeech).toBe(false);
    // After reset, a stream that starts loud seeds the floor with that level: a noisy line opens no turn.
    vad.reset();
    for (let i = 0; i < 5; i++) expect(vad.process(loud).event).toBe(VadEvent.None);
  });

  it('exposes every option with its default filled in', () => {
    expect(new Vad().options).toEqual(VAD_DEFAULTS);
    expect(new Vad({ hangoverMs: 500 }).options).toEqual({ ...VAD_DEFAULTS, hangoverMs: 500 });
  });

  it('takes 20 ms frames at 16 kHz when asked', () => {
    const vad = new Vad({ sampleRateHz: 16000 });
    expect(vad.samplesPerFrame).toBe(320);
    expect(vad.process(new Int16Array(320)).levelDbfs).toBe(-100);
  });
});
