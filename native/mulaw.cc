// The G.711 mu-law tables, generated at compile time from the G.191 algorithms in mulaw.h, so the
// per-sample work at run time is one lookup and nothing is computed or mutated at load.
#include "mulaw.h"

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

}  // namespace dsp
