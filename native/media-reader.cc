#include "media-reader.h"

#include <cstring>

namespace twilio {
namespace {

constexpr uint8_t kNotBase64 = 255;

struct Tables {
  uint8_t base64[256];
  bool isId[256];
  constexpr Tables() : base64(), isId() {
    for (int c = 0; c < 256; c++) {
      base64[c] = kNotBase64;
      isId[c] = false;
    }
    for (int c = 'A'; c <= 'Z'; c++) base64[c] = static_cast<uint8_t>(c - 'A');
    for (int c = 'a'; c <= 'z'; c++) base64[c] = static_cast<uint8_t>(26 + c - 'a');
    for (int c = '0'; c <= '9'; c++) base64[c] = static_cast<uint8_t>(52 + c - '0');
    base64[static_cast<int>('+')] = 62;
    base64[static_cast<int>('/')] = 63;
    for (int c = 'A'; c <= 'Z'; c++) isId[c] = true;
    for (int c = 'a'; c <= 'z'; c++) isId[c] = true;
    for (int c = '0'; c <= '9'; c++) isId[c] = true;
    isId[static_cast<int>('_')] = isId[static_cast<int>('.')] = isId[static_cast<int>(':')] = isId[static_cast<int>('-')] = true;
  }
};
constexpr Tables kTables;

// A cursor over the message: each step either moves past what it expects or fails for good.
class Cursor {
 public:
  Cursor(const uint8_t* bytes, size_t length) : bytes_(bytes), length_(length) {}

  bool ok() const { return ok_; }
  size_t at() const { return at_; }
  bool atEnd() const { return ok_ && at_ == length_; }

  template <size_t N>
  void Literal(const char (&literal)[N]) {
    constexpr size_t n = N - 1;  // without the terminating NUL
    if (!ok_ || length_ - at_ < n) {
      ok_ = false;
      return;
    }
    // a loop of known length the compiler unrolls (a libc memcmp call per literal cost more than the compare)
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) diff |= static_cast<uint8_t>(bytes_[at_ + i] ^ static_cast<uint8_t>(literal[i]));
    if (diff != 0) {
      ok_ = false;
      return;
    }
    at_ += n;
  }

  // 1..kMaxDigits decimal digits up to a quote (left unread); their value.
  double Digits() {
    if (!ok_) return 0;
    double value = 0;
    const size_t from = at_;
    while (at_ < length_ && at_ - from <= kMaxDigits) {
      const uint8_t c = bytes_[at_];
      if (c == '"') break;
      if (c < '0' || c > '9') {
        ok_ = false;
        return 0;
      }
      value = value * 10 + (c - '0');
      at_++;
    }
    if (at_ == from || at_ - from > kMaxDigits || at_ == length_) ok_ = false;
    return value;
  }

  // 1..kMaxIdChars id characters up to a quote (left unread); false when not.
  void Id(uint32_t* from, uint32_t* to) {
    if (!ok_) return;
    const size_t start = at_;
    while (at_ < length_ && at_ - start <= kMaxIdChars && bytes_[at_] != '"') {
      if (!kTables.isId[bytes_[at_]]) {
        ok_ = false;
        return;
      }
      at_++;
    }
    if (at_ == start || at_ - start > kMaxIdChars || at_ == length_) ok_ = false;
    *from = static_cast<uint32_t>(start);
    *to = static_cast<uint32_t>(at_);
  }

  // 216 characters of padded standard base64 of 160 bytes, decoded into `out`. The last group holds one byte: two
  // characters and "==" (the second character's low bits are ignored, as in Buffer's decoder and the JS reader).
  void Payload(uint8_t* out) {
    if (!ok_ || length_ - at_ < kMediaPayloadBase64Chars) {
      ok_ = false;
      return;
    }
    const uint8_t* p = bytes_ + at_;
    uint32_t bad = 0;
    size_t o = 0;
    for (size_t group = 0; group < (kMediaPayloadBytes - 1) / 3; group++, p += 4) {
      const uint32_t a = kTables.base64[p[0]], b = kTables.base64[p[1]], c = kTables.base64[p[2]], d = kTables.base64[p[3]];
      bad |= a | b | c | d;
      out[o++] = static_cast<uint8_t>((a << 2) | (b >> 4));
      out[o++] = static_cast<uint8_t>(((b & 15) << 4) | (c >> 2));
      out[o++] = static_cast<uint8_t>(((c & 3) << 6) | d);
    }
    const uint32_t a = kTables.base64[p[0]], b = kTables.base64[p[1]];
    bad |= a | b;
    out[o] = static_cast<uint8_t>((a << 2) | (b >> 4));
    // a value of 255 (not base64) has bits above the six a character carries
    if ((bad & ~63u) != 0 || p[2] != '=' || p[3] != '=') {
      ok_ = false;
      return;
    }
    at_ += kMediaPayloadBase64Chars;
  }

 private:
  const uint8_t* bytes_;
  size_t length_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace

bool ReadCanonicalMedia(const uint8_t* bytes, size_t length, uint8_t* payload, CanonicalMedia* out) {
  Cursor cursor(bytes, length);
  cursor.Literal("{\"event\":\"media\",\"sequenceNumber\":\"");
  out->sequenceNumber = cursor.Digits();
  cursor.Literal("\",\"media\":{\"track\":\"");
  cursor.Id(&out->trackFrom, &out->trackTo);
  cursor.Literal("\",\"chunk\":\"");
  out->chunk = cursor.Digits();
  cursor.Literal("\",\"timestamp\":\"");
  out->timestampMs = cursor.Digits();
  cursor.Literal("\",\"payload\":\"");
  cursor.Payload(payload);
  cursor.Literal("\"},\"streamSid\":\"");
  cursor.Id(&out->streamSidFrom, &out->streamSidTo);
  cursor.Literal("\"}");
  return cursor.atEnd();
}

namespace {

bool IsSameId(const uint8_t* last, uint8_t lastLength, const uint8_t* bytes, uint32_t from, uint32_t to) {
  const uint32_t n = to - from;
  if (n != lastLength) return false;
  uint8_t diff = 0;
  for (uint32_t i = 0; i < n; i++) diff |= static_cast<uint8_t>(last[i] ^ bytes[from + i]);
  return diff == 0;
}

}  // namespace

MediaRead ReadMediaInto(const uint8_t* bytes, size_t length, MediaReaderState* state) {
  CanonicalMedia media;
  if (!ReadCanonicalMedia(bytes, length, state->payload, &media)) return MediaRead::kNotCanonical;
  double* fields = state->fields;
  fields[0] = media.sequenceNumber;
  fields[1] = media.chunk;
  fields[2] = media.timestampMs;
  if (IsSameId(state->track, state->trackLength, bytes, media.trackFrom, media.trackTo) &&
      IsSameId(state->streamSid, state->streamSidLength, bytes, media.streamSidFrom, media.streamSidTo)) {
    return MediaRead::kSameIds;
  }
  state->trackLength = static_cast<uint8_t>(media.trackTo - media.trackFrom);
  std::memcpy(state->track, bytes + media.trackFrom, state->trackLength);
  state->streamSidLength = static_cast<uint8_t>(media.streamSidTo - media.streamSidFrom);
  std::memcpy(state->streamSid, bytes + media.streamSidFrom, state->streamSidLength);
  fields[3] = media.trackFrom;
  fields[4] = media.trackTo;
  fields[5] = media.streamSidFrom;
  fields[6] = media.streamSidTo;
  return MediaRead::kNewIds;
}

}  // namespace twilio
