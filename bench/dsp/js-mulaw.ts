/**
 * A plain-JS mu-law baseline (not a package): ITU-T G.191 `ulaw_compress`/`ulaw_expand`, precomputed into a
 * 65,536-entry encode table and a 256-entry decode table, with caller-supplied output arrays (no allocation). This is
 * what a careful JS author would write by hand, so it is a stricter comparison than `alawmulaw` (the package people
 * use, and the peer of the target); bench/dsp reports native's ratio to both.
 */

/** G.191 ulaw_compress for one 16-bit sample (the reference algorithm, used only to fill the table). */
export function g191EncodeSample(sample: number): number {
  let absno = sample < 0 ? ((~sample) >> 2) + 33 : (sample >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  const highNibble = 0x08 - segno;
  const lowNibble = 0x0f - ((absno >> segno) & 0x0f);
  let code = (highNibble << 4) | lowNibble;
  if (sample >= 0) code |= 0x80;
  return code;
}

/** G.191 ulaw_expand for one code. */
export function g191DecodeSample(code: number): number {
  const sign = code < 0x80 ? -1 : 1;
  let mantissa = ~code;
  const exponent = (mantissa >> 4) & 0x07;
  const segment = exponent + 1;
  mantissa &= 0x0f;
  const step = 4 << segment;
  return sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33);
}

/** Indexed by the sample's 16-bit two's-complement pattern (`sample & 0xffff`). */
const ENCODE_TABLE = new Uint8Array(65536);
const DECODE_TABLE = new Int16Array(256);
for (let u = 0; u < 65536; u++) ENCODE_TABLE[u] = g191EncodeSample((u << 16) >> 16);
for (let c = 0; c < 256; c++) DECODE_TABLE[c] = g191DecodeSample(c);

/** Per-frame path: no allocation. */
export function jsMulawEncodeInto(pcm: Int16Array, out: Uint8Array): void {
  const table = ENCODE_TABLE;
  for (let i = 0, n = pcm.length; i < n; i++) out[i] = table[pcm[i]! & 0xffff]!;
}

/** Per-frame path: no allocation. */
export function jsMulawDecodeInto(codes: Uint8Array, out: Int16Array): void {
  const table = DECODE_TABLE;
  for (let i = 0, n = codes.length; i < n; i++) out[i] = table[codes[i]!]!;
}
