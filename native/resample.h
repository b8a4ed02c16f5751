// Streaming rational resampler between 8, 16, 24 and 48 kHz: polyphase windowed-sinc (Kaiser window).
// The filter for a (from, to) pair is designed once and shared read-only; a Resampler keeps only its input
// history, so feeding 20 ms chunks gives exactly the samples of one call on the whole signal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace dsp {

bool IsSupportedRate(double hz);

// An immutable polyphase filter for one rate pair. Output k uses phase (k*down) % up and the `taps` input
// samples ending at floor(k*down / up); phase coefficients are stored oldest-sample-first.
struct PolyphaseFilter {
  int fromHz = 0;
  int toHz = 0;
  int up = 1;            // L: interpolation factor (toHz / gcd)
  int down = 1;          // M: decimation factor (fromHz / gcd)
  int taps = 1;          // K: taps per phase, a multiple of kTapBlock
  int delaySamples = 0;  // D: group delay in output samples (the design makes it an integer)
  std::vector<float> coefs;  // up * taps

  static constexpr int kTapBlock = 8;
  static std::shared_ptr<const PolyphaseFilter> Design(int fromHz, int toHz);
};

class Resampler {
 public:
  explicit Resampler(std::shared_ptr<const PolyphaseFilter> filter);

  int fromHz() const { return filter_->fromHz; }
  int toHz() const { return filter_->toHz; }
  int delaySamples() const { return filter_->delaySamples; }

  // How many samples Process() will write for `inputCount` more input samples (given the current state).
  size_t OutputCountFor(size_t inputCount) const;
  // How many samples Flush() will write.
  size_t FlushCount() const;

  // Streaming: consumes `count` samples, writes exactly OutputCountFor(count) samples to `out`.
  size_t Process(const int16_t* in, size_t count, int16_t* out);
  // Writes the tail (FlushCount() samples: the filter's delay, fed with zeros) and resets.
  size_t Flush(int16_t* out);
  void Reset();

 private:
  void Append(const int16_t* in, size_t count);
  void AppendZeros(size_t count);
  size_t Run(int16_t* out, size_t maxOut);
  void Compact();

  std::shared_ptr<const PolyphaseFilter> filter_;
  std::vector<float> history_;  // input samples as float; history_[0] is input index base_
  size_t phase_ = 0;            // (k*down) % up for the next output k
  size_t newest_ = 0;           // floor(k*down / up) + (taps - 1): index into history_ of the window's newest sample
  uint64_t inputsSeen_ = 0;     // real (not flush-padding) inputs since reset
  uint64_t outputsMade_ = 0;    // outputs since reset
};

}  // namespace dsp
