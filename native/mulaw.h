// G.711 mu-law, byte-exact with the ITU-T G.191 reference software (ulaw_compress / ulaw_expand).
// Two kinds of kernel compute the same bytes: portable lookups in tables built at compile time from the G.191
// algorithm (immutable, shared by every addon instance and thread), and on x86-64 an AVX2 kernel that does the
// arithmetic 16 samples at a time. MulawEncode/MulawDecode use the best one this CPU has, chosen once at load.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace dsp {

constexpr uint8_t kMulawSilence = 0xFF;  // the code of 0

// G.191 ulaw_compress on one int16 sample (the algorithm the tables are built from).
constexpr uint8_t MulawCompressG191(int16_t sample) {
  // G.191 works on 14-bit magnitudes: shift out the two low bits; negative samples use the one's complement.
  int absno = sample < 0 ? ((~static_cast<int>(sample)) >> 2) + 33 : (static_cast<int>(sample) >> 2) + 33;
  if (absno > 0x1FFF) absno = 0x1FFF;
  int segno = 1;
  for (int i = absno >> 6; i != 0; i >>= 1) segno++;
  const int high_nibble = 0x0008 - segno;
  const int low_nibble = 0x000F - ((absno >> segno) & 0x000F);
  int code = (high_nibble << 4) | low_nibble;
  if (sample >= 0) code |= 0x0080;
  return static_cast<uint8_t>(code);
}

// G.191 ulaw_expand on one code.
constexpr int16_t MulawExpandG191(uint8_t code) {
  const int sign = code < 0x80 ? -1 : 1;
  const int inverted = ~static_cast<int>(code);
  const int exponent = (inverted >> 4) & 0x07;
  const int mantissa = inverted & 0x0F;
  const int step = 4 << (exponent + 1);
  return static_cast<int16_t>(sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33));
}

// The 64 Ki-entry encode table, indexed by (uint16_t)sample, and the 256-entry decode table.
// Defined constexpr in mulaw.cc: immutable, shared by every addon instance and thread.
extern const std::array<uint8_t, 65536> kMulawEncodeTable;
extern const std::array<int16_t, 256> kMulawDecodeTable;

// The portable kernels: plain table lookups, no allocation. Also the tails of the SIMD kernels.
inline void MulawEncodeScalar(const int16_t* pcm, size_t count, uint8_t* out) {
  for (size_t i = 0; i < count; i++) out[i] = kMulawEncodeTable[static_cast<uint16_t>(pcm[i])];
}

inline void MulawDecodeScalar(const uint8_t* codes, size_t count, int16_t* out) {
  for (size_t i = 0; i < count; i++) out[i] = kMulawDecodeTable[codes[i]];
}

// Per-frame path (and bulk): the fastest kernel this CPU has; no allocation.
void MulawEncode(const int16_t* pcm, size_t count, uint8_t* out);
void MulawDecode(const uint8_t* codes, size_t count, int16_t* out);

// Which kernel MulawEncode/MulawDecode run: "avx2" or "scalar". Chosen once when the addon loads: AVX2 when the
// build has it (x86-64, GCC or Clang) and the CPU supports it, unless the environment variable
// AI_CRMD_MULAW_KERNEL=scalar forces the portable kernel (so that tests and benchmarks can run both).
const char* MulawKernelName();

}  // namespace dsp
