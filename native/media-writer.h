// The payload of an outbound media message (the server's per-frame path: 50 a second per playing call): 160 mu-law
// bytes as the 214 characters of standard base64 that precede its "==" padding (src/twilio/outbound-serializers.ts
// writes the rest of the message once per stream and calls this per frame).
#ifndef AI_CRMD_MEDIA_WRITER_H_
#define AI_CRMD_MEDIA_WRITER_H_

#include <cstddef>
#include <cstdint>

namespace twilio {

constexpr size_t kMediaFrameBytes = 160;
constexpr size_t kMediaPayloadCharsBeforePadding = 214;

// Writes the base64 of mulaw[0..160) without its "==" into out[0..214).
void EncodeMediaPayload(const uint8_t* mulaw, uint8_t* out);

}  // namespace twilio

#endif  // AI_CRMD_MEDIA_WRITER_H_
