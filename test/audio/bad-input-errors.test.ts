// Wrong input raises a TypeError or RangeError with a message that says what was wrong; never a crash and
// never garbage. Every message the DSP API and the pool can throw is asserted here.
import { describe, expect, it } from 'vitest';
import { frameLevelsDbfs, InboundBatcher, mulawDecode, mulawDecodeInto, mulawEncode, mulawEncodeInto, pcm16FromBytes,
  Resampler, resampleWhole, Vad, type SampleRateHz, type VadOptions } from '../../src/audio/dsp.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const bad = (v: unknown): any => v;

const throws = (fn: () => unknown, type: ErrorConstructor, message: string): void => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, message).toBeInstanceOf(type);
  expect((error as Error).message).toBe(message);
};

describe('mu-law input errors', () => {
  it('rejects wrong typed arrays', () => {
    throws(() => mulawEncode(bad(new Uint8Array(4))), TypeError, 'pcm must be an Int16Array (got Uint8Array)');
    throws(() => mulawEncode(bad([1, 2])), TypeError, 'pcm must be an Int16Array (got Array)');
    throws(() => mulawEncode(bad(undefined)), TypeError, 'pcm must be an Int16Array (got undefined)');
    throws(() => mulawDecode(bad(new Int16Array(4))), TypeError, 'codes must be a Uint8Array (got Int16Array)');
    throws(() => mulawDecode(bad(new Uint8ClampedArray(4))), TypeError, 'codes must be a Uint8Array (got Uint8ClampedArray)');
    throws(() => mulawDecode(bad('abc')), TypeError, 'codes must be a Uint8Array (got string)');
    throws(() => mulawEncodeInto(new Int16Array(4), bad(new Int8Array(4))), TypeError, 'out must be a Uint8Array (got Int8Array)');
    throws(() => mulawDecodeInto(new Uint8Array(4), bad(new Uint16Array(4))), TypeError, 'out must be an Int16Array (got Uint16Array)');
  });

  it('rejects outputs that are too short', () => {
    throws(() => mulawEncodeInto(new Int16Array(160), new Uint8Array(100)), RangeError, 'out is too short: 160 bytes needed, got 100');
    throws(() => mulawDecodeInto(new Uint8Array(160), new Int16Array(159)), RangeError, 'out is too short: 160 samples needed, got 159');
  });

  it('accepts a Node Buffer as mu-law codes (a Buffer is a Uint8Array)', () => {
    expect(Array.from(mulawDecode(Buffer.from([0xff, 0x7f])))).toEqual([0, 0]);
  });
});

describe('PCM byte errors', () => {
  it('rejects an odd byte length where 16-bit PCM is expected', () => {
    throws(() => pcm16FromBytes(new Uint8Array(321)), RangeError, '16-bit PCM must have an even byte length (got 321 bytes)');
    throws(() => pcm16FromBytes(bad(new Int16Array(2))), TypeError, 'bytes must be a Uint8Array (got Int16Array)');
  });

  it('reads little-endian PCM from aligned and unaligned bytes', () => {
    const bytes = new Uint8Array([0, 1, 0xff, 0xff, 0x34, 0x12]);
    expect(Array.from(pcm16FromBytes(bytes.subarray(0, 6)))).toEqual([256, -1, 0x1234]);
    const unaligned = new Uint8Array(7);
    unaligned.set(bytes, 1);
    expect(Array.from(pcm16FromBytes(unaligned.subarray(1)))).toEqual([256, -1, 0x1234]);
  });

  it('rejects frame level requests that do not fit', () => {
    throws(() => frameLevelsDbfs(new Int16Array(321)), RangeError, 'pcm length must be a multiple of samplesPerFrame (160), got 321');
    throws(() => frameLevelsDbfs(new Int16Array(320), 0), RangeError, 'samplesPerFrame must be an integer from 1 to 1048576 (got 0)');
    throws(() => frameLevelsDbfs(bad(new Float32Array(320))), TypeError, 'pcm must be an Int16Array (got Float32Array)');
  });
});

describe('Resampler errors', () => {
  it('rejects unsupported rates', () => {
    throws(() => new Resampler(bad(44100), 8000), RangeError, 'fromHz must be one of 8000, 16000, 24000, 48000 (got 44100)');
    throws(() => new Resampler(8000, bad(11025)), RangeError, 'toHz must be one of 8000, 16000, 24000, 48000 (got 11025)');
    throws(() => new Resampler(bad('8000'), 8000), TypeError, 'fromHz must be a number (got string)');
    throws(() => new Resampler(8000, bad(undefined)), TypeError, 'toHz must be a number (got undefined)');
    throws(() => resampleWhole(new Int16Array(8), bad(22050), 8000), RangeError, 'fromHz must be one of 8000, 16000, 24000, 48000 (got 22050)');
  });

  it('rejects wrong input and short outputs', () => {
    const r = new Resampler(8000, 16000);
    throws(() => r.process(bad(new Float32Array(160))), TypeError, 'input must be an Int16Array (got Float32Array)');
    throws(() => r.process(bad(Buffer.alloc(320))), TypeError, 'input must be an Int16Array (got Uint8Array)');
    throws(() => r.processInto(new Int16Array(160), bad(new Uint8Array(640))), TypeError, 'out must be an Int16Array (got Uint8Array)');
    throws(() => r.processInto(new Int16Array(160), new Int16Array(100)), RangeError, 'out is too short: 320 samples needed, got 100');
    throws(() => r.outputLengthFor(-1), RangeError, 'inputLength must be an integer from 0 to 4294967295 (got -1)');
    throws(() => resampleWhole(bad(new Uint8Array(8)), 8000, 16000), TypeError, 'input must be an Int16Array (got Uint8Array)');
    // A failed call leaves the stream as it was.
    expect(r.process(new Int16Array(160)).length).toBe(320);
  });

  it('native calls on a foreign receiver throw instead of crashing', () => {
    const r = new Resampler(8000, 16000) as unknown as { native: { process: (x: Int16Array) => Int16Array } };
    expect(() => r.native.process.call({}, new Int16Array(4))).toThrow();
  });
});

const label = (v: unknown): string =>
  v !== null && typeof v === 'object'
    ? `{ ${Object.entries(v).map(([k, x]) => `${k}: ${typeof x === 'string' ? `'${x}'` : String(x)}`).join(', ')} }`
    : String(v);

describe('VAD option errors', () => {
  const cases: [VadOptions | unknown, ErrorConstructor, string][] = [
    [{ sampleRateHz: 44100 }, RangeError, 'vad.sampleRateHz must be 8000 or 16000 (got 44100)'],
    [{ sampleRateHz: '8000' }, TypeError, 'vad.sampleRateHz must be a number (got string)'],
    [{ onsetMs: -5 }, RangeError, 'vad.onsetMs must be from 0 to 5000 (got -5)'],
    [{ onsetMs: Number.NaN }, RangeError, 'vad.onsetMs must be from 0 to 5000 (got NaN)'],
    [{ hangoverMs: 20000 }, RangeError, 'vad.hangoverMs must be from 0 to 10000 (got 20000)'],
    [{ hangoverMs: '700' }, TypeError, 'vad.hangoverMs must be a number (got string)'],
    [{ marginDb: 61 }, RangeError, 'vad.marginDb must be from 0 to 60 (got 61)'],
    [{ minSpeechDbfs: 3 }, RangeError, 'vad.minSpeechDbfs must be from -120 to 0 (got 3)'],
    [{ floorAttackDbPerS: -1 }, RangeError, 'vad.floorAttackDbPerS must be from 0 to 1000 (got -1)'],
    [{ floorReleaseDbPerS: Infinity }, RangeError, 'vad.floorReleaseDbPerS must be from 0 to 1000 (got Infinity)'],
    [{ initialFloorDbfs: -101 }, RangeError, 'vad.initialFloorDbfs must be from -100 to 0 (got -101)'],
    [{ floorWindowMs: 60001 }, RangeError, 'vad.floorWindowMs must be from 0 to 60000 (got 60001)'],
    [null, TypeError, 'vad options must be an object (got null)'],
    [5, TypeError, 'vad options must be an object (got number 5)'],
  ];
  for (const [options, type, message] of cases) {
    it(`new Vad(${label(options)}) -> ${type.name}: ${message}`, () => {
      throws(() => new Vad(bad(options)), type, message);
    });
  }

  it('rejects frames of the wrong type or size', () => {
    const vad = new Vad();
    throws(() => vad.process(bad(new Uint8Array(160))), TypeError, 'frame must be an Int16Array (got Uint8Array)');
    throws(() => vad.process(new Int16Array(159)), RangeError, 'frame must hold 160 samples (20 ms at 8000 Hz), got 159');
    throws(() => new Vad({ sampleRateHz: 16000 }).process(new Int16Array(160)), RangeError,
      'frame must hold 320 samples (20 ms at 16000 Hz), got 160');
  });
});

describe('InboundBatcher errors', () => {
  it('rejects bad sizes', () => {
    throws(() => new InboundBatcher({ maxSlots: 0, maxFramesPerTick: 4 }), RangeError, 'maxSlots must be an integer from 1 to 65536 (got 0)');
    throws(() => new InboundBatcher({ maxSlots: 2.5, maxFramesPerTick: 4 }), RangeError, 'maxSlots must be an integer from 1 to 65536 (got 2.5)');
    throws(() => new InboundBatcher({ maxSlots: 4, maxFramesPerTick: 70000 }), RangeError, 'maxFramesPerTick must be an integer from 1 to 65536 (got 70000)');
    throws(() => new InboundBatcher(bad({ maxSlots: 4 })), TypeError, 'maxFramesPerTick must be a number (got undefined)');
    throws(() => new InboundBatcher(bad(undefined)), TypeError, 'InboundBatcher options must be an object (got undefined)');
  });

  it('rejects a full batcher, bad slots and 16 kHz VAD options', () => {
    const b = new InboundBatcher({ maxSlots: 2, maxFramesPerTick: 4 });
    b.allocSlot();
    const s = b.allocSlot();
    throws(() => b.allocSlot(), RangeError, 'InboundBatcher is full: all 2 slots are in use');
    throws(() => b.freeSlot(2), RangeError, 'slot must be an integer from 0 to 1 (got 2)');
    throws(() => b.freeSlot(bad('1')), TypeError, 'slot must be a number (got string)');
    b.freeSlot(s);
    throws(() => b.freeSlot(s), RangeError, `slot ${s} is not allocated`);
    throws(() => b.allocSlot({ sampleRateHz: 16000 }), RangeError,
      'InboundBatcher slots take 8 kHz mu-law frames: vad sampleRateHz must be 8000 (got 16000)');
    throws(() => b.allocSlot({ onsetMs: -1 }), RangeError, 'vad.onsetMs must be from 0 to 5000 (got -1)');
  });

  it('rejects a count over maxFramesPerTick and frames of unallocated slots, before changing any state', () => {
    const b = new InboundBatcher({ maxSlots: 4, maxFramesPerTick: 4 });
    const slot = b.allocSlot();
    throws(() => b.process(5), RangeError, 'count must be an integer from 0 to 4 (got 5)');
    throws(() => b.process(-1), RangeError, 'count must be an integer from 0 to 4 (got -1)');
    throws(() => b.process(bad(undefined)), TypeError, 'count must be a number (got undefined)');
    b.slots.fill(slot);
    b.slots[2] = 3;
    b.codes.fill(0x55);
    throws(() => b.process(3), RangeError, 'slots[2] is 3, which is not an allocated slot');
    b.slots[2] = 99;
    throws(() => b.process(3), RangeError, 'slots[2] is 99, which is not an allocated slot');
    expect(Array.from(b.pcm.subarray(0, 4))).toEqual([0, 0, 0, 0]); // nothing was decoded
  });

  it('refuses to run on transferred (detached) buffers', () => {
    const b = new InboundBatcher({ maxSlots: 1, maxFramesPerTick: 1 });
    b.allocSlot();
    structuredClone(b.codes.buffer, { transfer: [b.codes.buffer as ArrayBuffer] });
    throws(() => b.process(1), TypeError, 'InboundBatcher buffers were detached (transferred); create a new InboundBatcher');
  });
});

describe('supported rates', () => {
  it('every supported pair constructs', () => {
    const rates: SampleRateHz[] = [8000, 16000, 24000, 48000];
    for (const a of rates) for (const b of rates) expect(new Resampler(a, b).toHz).toBe(b);
  });
});
