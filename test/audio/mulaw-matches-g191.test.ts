// G.711 mu-law against the ITU-T G.191 reference tables: every int16 input and every code, byte for byte, with both
// kernels the addon has (AVX2 where the CPU has it, and the portable tables, forced in a child process).
// The sox table is here too, to show that it is not the reference (it differs on decision boundaries).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  MULAW_KERNEL, MULAW_SILENCE, mulawDecode, mulawDecodeInto, mulawEncode, mulawEncodeInto,
} from '../../src/audio/dsp.js';

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

  it('encodes and decodes slices of every length 0..100 at offsets 0..3 like the reference (SIMD body + scalar tail)', () => {
    const refEncode = new Uint8Array(fixture('mulaw-encode-all-int16.g191.ul'));
    const refDecode = fixture('mulaw-decode-all-codes.s16le');
    const pcm = new Int16Array(200);
    for (let i = 0; i < pcm.length; i++) pcm[i] = ((i * 7919) % 65536) - 32768; // spread over the whole range
    pcm[0] = -32768; pcm[1] = 32767; pcm[2] = -1; pcm[3] = 0;
    const codes = new Uint8Array(200).map((_, i) => (i * 37 + 11) & 0xff);
    let encodeDiffs = 0, decodeDiffs = 0;
    for (let offset = 0; offset < 4; offset++) {
      for (let length = 0; length <= 100; length++) {
        const out = new Uint8Array(length + 1).fill(7);
        mulawEncodeInto(pcm.subarray(offset, offset + length), out);
        for (let i = 0; i < length; i++) if (out[i] !== refEncode[pcm[offset + i]! + 32768]) encodeDiffs++;
        if (out[length] !== 7) encodeDiffs++;
        const back = new Int16Array(length + 1).fill(7);
        mulawDecodeInto(codes.subarray(offset, offset + length), back);
        for (let i = 0; i < length; i++) if (back[i] !== refDecode.readInt16LE(2 * codes[offset + i]!)) decodeDiffs++;
        if (back[length] !== 7) decodeDiffs++;
      }
    }
    expect({ encodeDiffs, decodeDiffs }).toEqual({ encodeDiffs: 0, decodeDiffs: 0 });
  });

  it('uses the AVX2 kernel on x86-64 Linux CPUs that have AVX2, the portable one otherwise', () => {
    if (process.env['AI_CRMD_MULAW_KERNEL'] === 'scalar') {
      expect(MULAW_KERNEL).toBe('scalar');
    } else if (process.platform === 'linux' && process.arch === 'x64') {
      const hasAvx2 = /^flags\s*:.*\bavx2\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
      expect(MULAW_KERNEL).toBe(hasAvx2 ? 'avx2' : 'scalar');
    } else {
      expect(['avx2', 'scalar']).toContain(MULAW_KERNEL);
    }
  });

  it('the portable kernel (forced with AI_CRMD_MULAW_KERNEL=scalar) is byte-exact with G.191 too', () => {
    // The kernel is chosen once per process when the addon loads, so the forced run is a child process.
    const addonPath = fileURLToPath(new URL('../../build/Release/ai_crmd_dsp.node', import.meta.url));
    const script = `
      const addon = require(${JSON.stringify(addonPath)});
      const pcm = new Int16Array(65536);
      for (let i = 0; i < 65536; i++) pcm[i] = i - 32768;
      const encoded = new Uint8Array(65536);
      addon.mulawEncodeInto(pcm, encoded);
      const decoded = new Int16Array(256);
      addon.mulawDecodeInto(new Uint8Array(256).map((_, i) => i), decoded);
      process.stdout.write(JSON.stringify({
        kernel: addon.mulawKernel,
        encoded: Buffer.from(encoded).toString('base64'),
        decoded: Buffer.from(decoded.buffer).toString('base64'),
      }));`;
    const child = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, AI_CRMD_MULAW_KERNEL: 'scalar' },
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    const result = JSON.parse(child.stdout) as { kernel: string; encoded: string; decoded: string };
    expect(result.kernel).toBe('scalar');
    const expectedEncode = new Uint8Array(fixture('mulaw-encode-all-int16.g191.ul'));
    expect(countDiffs(new Uint8Array(Buffer.from(result.encoded, 'base64')), expectedEncode)).toBe(0);
    expect(Buffer.from(result.decoded, 'base64').equals(fixture('mulaw-decode-all-codes.s16le'))).toBe(true);
  });

  it('handles empty input and views at an offset', () => {
    expect(mulawEncode(new Int16Array(0)).length).toBe(0);
    expect(mulawDecode(new Uint8Array(0)).length).toBe(0);
    const buf = new Int16Array(10).fill(1000);
    expect(Array.from(mulawEncode(buf.subarray(5)))).toEqual(Array.from(mulawEncode(new Int16Array(5).fill(1000))));
  });
});
