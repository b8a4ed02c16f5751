#include "media-reader.h"

#include <cstring>

namespace twilio {
namespace {

// A base64 character's 6 bits already shifted to where they land in its group's 24 bits, one table per position in
// the group, so a group decodes as 4 loads and 3 ORs; a character that is not base64 sets bit 31 in every table.
constexpr uint32_t kNotBase64 = 0x80000000u;

struct Tables {
  uint32_t base64[4][256];
  bool isId[256];
  constexpr Tables() : base64(), isId() {
    for (int c = 0; c < 256; c++) {
      for (int at = 0; at < 4; at++) base64[at][c] = kNotBase64;
      isId[c] = false;
    }
    for (int c = 0; c < 256; c++) {
      int value = -1;
      if (c >= 'A' && c <= 'Z') value = c - 'A';
      if (c >= 'a' && c <= 'z') value = 26 + c - 'a';
      if (c >= '0' && c <= '9') value = 52 + c - '0';
      if (c == '+') value = 62;
      if (c == '/') value = 63;
      if (value < 0) continue;
      for (int at = 0; at < 4; at++) base64[at][c] = static_cast<uint32_t>(value) << (6 * (3 - at));
    }
    for (int c = 'A'; c <= 'Z'; c++) isId[c] = true;
    for (int c = 'a'; c <= 'z'; c++) isId[c] = true;
    for (int c = '0'; c <= '9'; c++) isId[c] = true;
    isId[static_cast<int>('_')] = isId[static_cast<int>('.')] = isId[static_cast<int>(':')] = isId[static_cast<int>('-')] = true;
  }
};
constexpr Tables kTables;

// 8 bytes from anywhere (the message's bytes or a literal), unaligned.
uint64_t Load64(const void* at) {
  uint64_t word;
  std::memcpy(&word, at, sizeof word);
  return word;
}

// Whether a[0..n) and b[0..n) differ, 8 bytes at a time (the last word overlapping the one before it); n of 1..7
// byte by byte.
bool AreDifferent(const uint8_t* a, const uint8_t* b, size_t n) {
  if (n < 8) {
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
    return diff != 0;
  }
  uint64_t diff = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) diff |= Load64(a + i) ^ Load64(b + i);
  if (i < n) diff |= Load64(a + n - 8) ^ Load64(b + n - 8);
  return diff != 0;
}

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
    // 8 bytes at a time against words the compiler folds from the literal (a libc memcmp call per literal cost more
    // than the compare; byte by byte was 4 instructions a byte)
    static_assert(n >= 2, "literals here are at least 2 bytes");
    uint64_t diff = 0;
    if constexpr (n >= 8) {
      size_t i = 0;
      for (; i + 8 <= n; i += 8) diff |= Load64(bytes_ + at_ + i) ^ Load64(literal + i);
      if (i < n) diff |= Load64(bytes_ + at_ + n - 8) ^ Load64(literal + n - 8);
    } else {
      for (size_t i = 0; i < n; i++) diff |= static_cast<uint8_t>(bytes_[at_ + i] ^ static_cast<uint8_t>(literal[i]));
    }
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
    // one bound for the scan: the message's end, or one character past the longest id
    const size_t limit = length_ - start > kMaxIdChars ? start + kMaxIdChars + 1 : length_;
    bool isAllId = true;
    while (at_ < limit && bytes_[at_] != '"') isAllId &= kTables.isId[bytes_[at_++]];
    if (!isAllId || at_ == start || at_ - start > kMaxIdChars || at_ == length_) ok_ = false;
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
    const auto& t = kTables.base64;
    uint32_t bad = 0;
    size_t o = 0;
    for (size_t group = 0; group < (kMediaPayloadBytes - 1) / 3; group++, p += 4) {
      const uint32_t bits = t[0][p[0]] | t[1][p[1]] | t[2][p[2]] | t[3][p[3]];
      bad |= bits;
      out[o++] = static_cast<uint8_t>(bits >> 16);
      out[o++] = static_cast<uint8_t>(bits >> 8);
      out[o++] = static_cast<uint8_t>(bits);
    }
    const uint32_t bits = t[0][p[0]] | t[1][p[1]];
    bad |= bits;
    out[o] = static_cast<uint8_t>(bits >> 16);
    if ((bad & kNotBase64) != 0 || p[2] != '=' || p[3] != '=') {
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
  return n == lastLength && !AreDifferent(last, bytes + from, n);
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
