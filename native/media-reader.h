// The usual media message of Twilio's Media Streams, read in place from its UTF-8 bytes (the edge's per-frame path:
// 50 messages a second per call). Only the canonical shape, with no whitespace and no escapes, is read here:
//   {"event":"media","sequenceNumber":"N","media":{"track":"T","chunk":"N","timestamp":"N","payload":"B64"},"streamSid":"S"}
// Anything else is left to the general JSON parser (src/twilio/inbound-parser.ts), whose result for the same text
// this one equals: counters of 1..15 decimal digits (MAX_DIGITS), ids of 1..128 characters of [A-Za-z0-9_.:-]
// (ID_PATTERN, MAX_ID_CHARS), a payload of exactly 216 characters of padded standard base64 (160 bytes).
#ifndef AI_CRMD_MEDIA_READER_H_
#define AI_CRMD_MEDIA_READER_H_

#include <cstddef>
#include <cstdint>

namespace twilio {

constexpr size_t kMediaPayloadBytes = 160;
constexpr size_t kMediaPayloadBase64Chars = 216;
constexpr size_t kMaxDigits = 15;
constexpr size_t kMaxIdChars = 128;

struct CanonicalMedia {
  double sequenceNumber;
  double chunk;
  double timestampMs;
  // The ids as byte ranges [from, to) of the message.
  uint32_t trackFrom, trackTo;
  uint32_t streamSidFrom, streamSidTo;
};

// One socket's reader state, kept in JS memory (a Uint8Array of sizeof(MediaReaderState), 8-byte aligned) so that a
// read is one plain function call: what the last message said, and the previous message's ids (they never change
// within a stream, so the JS side makes their strings only when they do).
struct MediaReaderState {
  // sequenceNumber, chunk, timestampMs, then (when the ids changed) trackFrom, trackTo, streamSidFrom, streamSidTo
  double fields[8];
  uint8_t payload[kMediaPayloadBytes];
  uint8_t trackLength;
  uint8_t streamSidLength;
  uint8_t track[kMaxIdChars];
  uint8_t streamSid[kMaxIdChars];
};

enum class MediaRead : uint32_t { kNotCanonical = 0, kSameIds = 1, kNewIds = 2 };

// Reads `bytes` into `state`: kNotCanonical when they are not a canonical media message (state.payload may then be
// half-written), else whether the ids are the previous canonical message's.
MediaRead ReadMediaInto(const uint8_t* bytes, size_t length, MediaReaderState* state);

// Reads a canonical media message: fills `out` and decodes the payload into `payload` (160 bytes). False when the
// bytes are not exactly that shape (then `payload` may be half-written and `out` is undefined).
bool ReadCanonicalMedia(const uint8_t* bytes, size_t length, uint8_t* payload, CanonicalMedia* out);

}  // namespace twilio

#endif  // AI_CRMD_MEDIA_READER_H_
