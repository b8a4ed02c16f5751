// G.711 mu-law against the ITU-T G.191 reference tables: every int16 input and every code, byte for byte.
// The sox table is here too, to show that it is not the reference (it differs on decision boundaries).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MULAW_SILENCE, mulawDecode, mulawDecodeInto, mulawEncode, mulawEncodeInto } from '../../src/audio/dsp.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

const allInt16 = (): Int16Array => {
  const pcm = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) pcm[i] = i - 32768;
  return pcm;
};

const countDiffs = (a: Uint8Array, b: Uint8Array): number => {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
};

describe('G.711 mu-law is byte-exact with G.191', () => {
  it('encodes all 65,536 int16 samples exactly as ulaw_compress', () => {
    const expected = new Uint8Array(fixture('mulaw-encode-all-int16.g191.ul'));
    expect(expected.length).toBe(65536);
    const got = mulawEncode(allInt16());
    expect(countDiffs(got, expected)).toBe(0);
  });

  it('decodes all 256 codes exactly as ulaw_expand', () => {
    const raw = fixture('mulaw-decode-all-codes.s16le');
    const expected = new Int16Array(256);
    for (let i = 0; i < 256; i++) expected[i] = raw.readInt16LE(2 * i);
    const codes = new Uint8Array(256).map((_, i) => i);
    expect(Array.from(mulawDecode(codes))).toEqual(Array.from(expected));
  });

  it('differs from the sox table (not the reference) on its 510 boundary inputs', () => {
    const sox = new Uint8Array(fixture('mulaw-encode-all-int16.sox.ul'));
    expect(countDiffs(mulawEncode(allInt16()), sox)).toBe(510);
  });

  it('round-trips every code (decode then encode gives the code back, except -0 -> +0)', () => {
    const codes = new Uint8Array(256).map((_, i) => i);
    const back = mulawEncode(mulawDecode(codes));
    for (let c = 0; c < 256; c++) expect(back[c]).toBe(c === 0x7f ? 0xff : c);
  });

  it('encodes silence as 0xFF', () => {
    expect(Array.from(mulawEncode(new Int16Array(4)))).toEqual([MULAW_SILENCE, MULAW_SILENCE, MULAW_SILENCE, MULAW_SILENCE]);
  });

  it('Into variants write into the caller\'s arrays (longer outputs are left alone past the input)', () => {
    const pcm = allInt16().subarray(1000, 1320);
    const out = new Uint8Array(400).fill(7);
    mulawEncodeInto(pcm, out);
    expect(Array.from(out.subarray(0, 320))).toEqual(Array.from(mulawEncode(pcm)));
    expect(out[320]).toBe(7);
    const back = new Int16Array(400);
    mulawDecodeInto(out.subarray(0, 320), back);
    expect(Array.from(back.subarray(0, 320))).toEqual(Array.from(mulawDecode(out.subarray(0, 320))));
  });

  it('handles empty input and views at an offset', () => {
    expect(mulawEncode(new Int16Array(0)).length).toBe(0);
    expect(mulawDecode(new Uint8Array(0)).length).toBe(0);
    const buf = new Int16Array(10).fill(1000);
    expect(Array.from(mulawEncode(buf.subarray(5)))).toEqual(Array.from(mulawEncode(new Int16Array(5).fill(1000))));
  });
});
