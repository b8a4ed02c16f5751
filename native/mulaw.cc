// The G.711 mu-law kernels: tables generated at compile time from the G.191 algorithms in mulaw.h (the portable
// path: one lookup per sample, nothing computed or mutated at load), and on x86-64 AVX2 kernels that compute the
// same bytes arithmetically, 16 samples per instruction. The kernel is chosen once, when the addon loads; the choice
// is a const, so nothing mutable is shared between threads. Both kernels are checked against the G.191 fixtures
// over all 65,536 inputs and all 256 codes (test/audio/mulaw-matches-g191.test.ts).
#include "mulaw.h"

#include "avx2-kernels.h"

namespace dsp {
namespace {

constexpr std::array<uint8_t, 65536> BuildEncodeTable() {
  std::array<uint8_t, 65536> table{};
  for (int i = 0; i < 65536; i++) table[i] = MulawCompressG191(static_cast<int16_t>(static_cast<uint16_t>(i)));
  return table;
}

constexpr std::array<int16_t, 256> BuildDecodeTable() {
  std::array<int16_t, 256> table{};
  for (int i = 0; i < 256; i++) table[i] = MulawExpandG191(static_cast<uint8_t>(i));
  return table;
}

}  // namespace

// Declared extern in mulaw.h, so these constexpr definitions have external linkage.
constexpr std::array<uint8_t, 65536> kMulawEncodeTable = BuildEncodeTable();
constexpr std::array<int16_t, 256> kMulawDecodeTable = BuildDecodeTable();

static_assert(kMulawDecodeTable[0xFF] == 0, "mu-law 0xFF must decode to 0");
static_assert(kMulawEncodeTable[0] == kMulawSilence, "0 must encode to 0xFF");
static_assert(kMulawEncodeTable[0x8000] == 0x00, "-32768 must encode to 0x00");

namespace {

#if DSP_HAS_AVX2_KERNELS

// 16 samples -> 16 codes without their sign bit, one per 16-bit lane (0x80..0xFF; the caller clears bit 7 for
// negative samples). G.191 takes the 13-bit magnitude a = (mag >> 2) + 33 of the sample (mag = s, or the one's
// complement ~s when s < 0), clamped to 0x1FFF, so 2^e <= a < 2^(e+1) with e in 5..12; the code's segment is e - 5 and
// its mantissa the 4 bits below a's leading one, and the code is 0xFF - (segment << 4 | mantissa) for s >= 0.
// Here t = mag + 132 = 4a + (mag & 3), saturating at 32767, which is the clamp; t has the same leading-bit pattern as
// a, two places up. Converting t << 16 to float (exact: at most 15 significant bits) puts both fields side by side:
// bits >> 19 = (e + 2 + 16 + 127) << 4 | mantissa = 0x960 + (segment << 4 | mantissa).
DSP_AVX2 inline __m256i EncodeMagnitudeLanes(__m256i s) {
  const __m256i neg = _mm256_srai_epi16(s, 15);  // all ones where s < 0
  const __m256i mag = _mm256_xor_si256(s, neg);  // s, or ~s where s < 0: 0..32767
  const __m256i t = _mm256_adds_epi16(mag, _mm256_set1_epi16(132));
  // Each 32-bit lane holds two samples; convert each in the high half of its own 32-bit lane.
  const __m256i even = _mm256_slli_epi32(t, 16);
  const __m256i odd = _mm256_and_si256(t, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u)));
  const __m256i fieldsEven = _mm256_srli_epi32(_mm256_castps_si256(_mm256_cvtepi32_ps(even)), 19);  // low half
  const __m256i fieldsOdd = _mm256_srli_epi32(_mm256_castps_si256(_mm256_cvtepi32_ps(odd)), 3);     // >> 19 << 16
  const __m256i fields = _mm256_blend_epi16(fieldsEven, fieldsOdd, 0xAA);
  return _mm256_sub_epi16(_mm256_set1_epi16(0x960 + 0xFF), fields);
}

// The sign bits of 32 samples' codes, in packus order: 0x80 where the sample is negative.
DSP_AVX2 inline __m256i NegativeBits(__m256i a, __m256i b) {
  return _mm256_and_si256(_mm256_packs_epi16(a, b), _mm256_set1_epi8(static_cast<char>(0x80)));
}

// Per-frame path: no allocation.
DSP_AVX2 void MulawEncodeAvx2(const int16_t* pcm, size_t count, uint8_t* out) {
  size_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pcm + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pcm + i + 16));
    const __m256i packed = _mm256_packus_epi16(EncodeMagnitudeLanes(a), EncodeMagnitudeLanes(b));
    // A negative sample's code is its magnitude code less 0x80. packus and packs interleave 128-bit halves the same
    // way (a0 b0 a1 b1); the permute puts them back in order (a0 a1 b0 b1).
    const __m256i codes = _mm256_permute4x64_epi64(_mm256_xor_si256(packed, NegativeBits(a, b)), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), codes);
  }
  MulawEncodeScalar(pcm + i, count - i, out + i);
}

// 16 codes (zero-extended to 16-bit lanes) -> 16 samples. With n = ~code: exponent e = (n >> 4) & 7, mantissa
// m = n & 15, magnitude ((m << 3) + 0x84) << e - 0x84, negative for codes below 0x80.
DSP_AVX2 inline __m256i DecodeLanes(__m256i c) {
  // 1 << e for each lane, looked up by (n >> 4) & 15 in the low byte; the high byte's index has bit 7 set, which
  // makes the shuffle write 0 there.
  const __m256i kPow2 = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128,  //
                                         1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const __m256i index = _mm256_xor_si256(_mm256_srli_epi16(c, 4), _mm256_set1_epi16(static_cast<int16_t>(0x800F)));
  const __m256i pow2 = _mm256_shuffle_epi8(kPow2, index);
  // (m << 3) + 0x84 = 0xFC - ((code & 15) << 3)
  const __m256i base = _mm256_sub_epi16(_mm256_set1_epi16(0xFC), _mm256_and_si256(_mm256_slli_epi16(c, 3), _mm256_set1_epi16(0x78)));
  const __m256i mag = _mm256_sub_epi16(_mm256_mullo_epi16(base, pow2), _mm256_set1_epi16(0x84));
  // Negate below 0x7F; code 0x7F has magnitude 0, so the zero that sign_epi16 writes there is right.
  return _mm256_sign_epi16(mag, _mm256_sub_epi16(c, _mm256_set1_epi16(0x7F)));
}

// Per-frame path: no allocation.
DSP_AVX2 void MulawDecodeAvx2(const uint8_t* codes, size_t count, int16_t* out) {
  size_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + i)));
    const __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + i + 16)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), DecodeLanes(a));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 16), DecodeLanes(b));
  }
  MulawDecodeScalar(codes + i, count - i, out + i);
}

#endif  // DSP_HAS_AVX2_KERNELS

struct MulawKernels {
  void (*encode)(const int16_t*, size_t, uint8_t*);
  void (*decode)(const uint8_t*, size_t, int16_t*);
  const char* name;
};

MulawKernels SelectKernels() {
#if DSP_HAS_AVX2_KERNELS
  if (ShouldUseAvx2("AI_CRMD_MULAW_KERNEL")) return {MulawEncodeAvx2, MulawDecodeAvx2, "avx2"};
#endif
  return {MulawEncodeScalar, MulawDecodeScalar, "scalar"};
}

// Set once while the addon loads, read-only afterwards.
const MulawKernels kKernels = SelectKernels();

}  // namespace

void MulawEncode(const int16_t* pcm, size_t count, uint8_t* out) { kKernels.encode(pcm, count, out); }
void MulawDecode(const uint8_t* codes, size_t count, int16_t* out) { kKernels.decode(codes, count, out); }
const char* MulawKernelName() { return kKernels.name; }

}  // namespace dsp
