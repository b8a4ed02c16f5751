#include "media-writer.h"

namespace twilio {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

void EncodeMediaPayload(const uint8_t* mulaw, uint8_t* out) {
  size_t i = 0;
  // 160 = 53 x 3 + 1: 53 whole groups, then the last byte makes two characters (the "==" is the caller's)
  for (; i + 3 <= kMediaFrameBytes; i += 3, out += 4) {
    const uint32_t n = (static_cast<uint32_t>(mulaw[i]) << 16) | (static_cast<uint32_t>(mulaw[i + 1]) << 8) | mulaw[i + 2];
    out[0] = static_cast<uint8_t>(kAlphabet[n >> 18]);
    out[1] = static_cast<uint8_t>(kAlphabet[(n >> 12) & 63]);
    out[2] = static_cast<uint8_t>(kAlphabet[(n >> 6) & 63]);
    out[3] = static_cast<uint8_t>(kAlphabet[n & 63]);
  }
  const uint8_t last = mulaw[i];
  out[0] = static_cast<uint8_t>(kAlphabet[last >> 2]);
  out[1] = static_cast<uint8_t>(kAlphabet[(last & 3) << 4]);
}

}  // namespace twilio
