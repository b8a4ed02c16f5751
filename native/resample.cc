// Polyphase windowed-sinc resampling. Design: Kaiser window, 96 dB stopband, passband to 90% of the lower
// Nyquist and stopband from 100% of it (nothing aliases, nothing images). The prototype's centre is put on a
// whole number of output samples, so the delay is an integer. The inner loop is a float dot product over
// precomputed phases; on x86-64 Linux with GCC it is also built for AVX2 and picked at load time.
#include "resample.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dsp {
namespace {

constexpr double kStopbandDb = 96.0;
constexpr double kPassbandEdge = 0.90;  // fraction of the lower Nyquist
constexpr double kStopbandEdge = 1.00;
constexpr double kPi = 3.14159265358979323846;

double BesselI0(double x) {
  double sum = 1.0, term = 1.0;
  const double q = x * x / 4.0;
  for (int k = 1; k < 200; k++) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
#define DSP_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define DSP_MULTIVERSION
#endif

// Per-sample path: computes `count` outputs; no allocation. Returns the updated (phase, newest).
DSP_MULTIVERSION
void RunKernel(const float* __restrict coefs, int taps, int up, int down, const float* __restrict history,
               size_t& phase, size_t& newest, size_t count, int16_t* __restrict out) {
  size_t p = phase, n = newest;
  for (size_t k = 0; k < count; k++) {
    const float* c = coefs + p * static_cast<size_t>(taps);
    const float* x = history + (n + 1 - static_cast<size_t>(taps));
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < taps; i += 8) {
      for (int j = 0; j < 8; j++) acc[j] += c[i + j] * x[i + j];
    }
    float y = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    y = std::min(32767.0f, std::max(-32768.0f, y));
    out[k] = static_cast<int16_t>(std::lrint(y));
    p += static_cast<size_t>(down);
    n += p / static_cast<size_t>(up);
    p %= static_cast<size_t>(up);
  }
  phase = p;
  newest = n;
}

}  // namespace

bool IsSupportedRate(double hz) { return hz == 8000 || hz == 16000 || hz == 24000 || hz == 48000; }

std::shared_ptr<const PolyphaseFilter> PolyphaseFilter::Design(int fromHz, int toHz) {
  auto f = std::make_shared<PolyphaseFilter>();
  const int g = std::gcd(fromHz, toHz);
  f->fromHz = fromHz;
  f->toHz = toHz;
  f->up = toHz / g;
  f->down = fromHz / g;
  const int L = f->up, M = f->down;

  if (fromHz == toHz) {  // identity: one tap of 1 on the newest sample
    f->taps = kTapBlock;
    f->delaySamples = 0;
    f->coefs.assign(kTapBlock, 0.0f);
    f->coefs[kTapBlock - 1] = 1.0f;
    return f;
  }

  const double upRate = static_cast<double>(L) * fromHz;  // the rate the prototype runs at
  const double nyquistLow = std::min(fromHz, toHz) / 2.0;
  const double passHz = kPassbandEdge * nyquistLow, stopHz = kStopbandEdge * nyquistLow;
  const double cutoff = (passHz + stopHz) / 2.0 / upRate;  // cycles per prototype sample
  const double transition = 2.0 * kPi * (stopHz - passHz) / upRate;
  const double beta = 0.1102 * (kStopbandDb - 8.7);
  const int required = static_cast<int>(std::ceil((kStopbandDb - 8.0) / (2.285 * transition))) + 1;
  const int delay = (required - 1 + 2 * M - 1) / (2 * M);  // ceil(((required - 1) / 2) / M)
  const int centre = delay * M;
  const int length = 2 * centre + 1;
  int taps = (length + L - 1) / L;
  taps = (taps + kTapBlock - 1) / kTapBlock * kTapBlock;
  f->taps = taps;
  f->delaySamples = delay;

  std::vector<double> h(static_cast<size_t>(taps) * L, 0.0);
  const double i0beta = BesselI0(beta);
  for (int i = 0; i < length; i++) {
    const double t = static_cast<double>(i - centre);
    const double r = t / centre;
    const double window = BesselI0(beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / i0beta;
    const double arg = 2.0 * cutoff * t;
    const double sinc = t == 0 ? 1.0 : std::sin(kPi * arg) / (kPi * arg);
    h[i] = 2.0 * cutoff * L * sinc * window;
  }

  // Phase p, tap j is h[p + j*L] applied to x[q - j]; store it oldest-first, each phase normalised to unit DC gain.
  f->coefs.assign(static_cast<size_t>(taps) * L, 0.0f);
  for (int p = 0; p < L; p++) {
    double sum = 0;
    for (int j = 0; j < taps; j++) sum += h[static_cast<size_t>(p) + static_cast<size_t>(j) * L];
    for (int j = 0; j < taps; j++) {
      const double v = h[static_cast<size_t>(p) + static_cast<size_t>(j) * L] / sum;
      f->coefs[static_cast<size_t>(p) * taps + (taps - 1 - j)] = static_cast<float>(v);
    }
  }
  return f;
}

Resampler::Resampler(std::shared_ptr<const PolyphaseFilter> filter) : filter_(std::move(filter)) {
  history_.reserve(static_cast<size_t>(filter_->taps) + 1024);
  Reset();
}

void Resampler::Reset() {
  history_.assign(static_cast<size_t>(filter_->taps) - 1, 0.0f);
  phase_ = 0;
  newest_ = static_cast<size_t>(filter_->taps) - 1;
  inputsSeen_ = 0;
  outputsMade_ = 0;
}

size_t Resampler::OutputCountFor(size_t inputCount) const {
  if (filter_->fromHz == filter_->toHz) return inputCount;
  const size_t size = history_.size() + inputCount;
  if (newest_ + 1 > size) return 0;
  const uint64_t r = size - 1 - newest_;  // how far the newest index may advance
  const uint64_t L = static_cast<uint64_t>(filter_->up), M = static_cast<uint64_t>(filter_->down);
  return static_cast<size_t>(((r + 1) * L - phase_ + M - 1) / M);
}

size_t Resampler::FlushCount() const {
  if (inputsSeen_ == 0) return 0;
  const uint64_t L = static_cast<uint64_t>(filter_->up), M = static_cast<uint64_t>(filter_->down);
  const uint64_t total = (inputsSeen_ * L + M - 1) / M + static_cast<uint64_t>(filter_->delaySamples);
  return total > outputsMade_ ? static_cast<size_t>(total - outputsMade_) : 0;
}

void Resampler::Append(const int16_t* in, size_t count) {
  const size_t old = history_.size();
  history_.resize(old + count);
  float* dst = history_.data() + old;
  for (size_t i = 0; i < count; i++) dst[i] = static_cast<float>(in[i]);
}

void Resampler::AppendZeros(size_t count) { history_.resize(history_.size() + count, 0.0f); }

size_t Resampler::Run(int16_t* out, size_t count) {
  RunKernel(filter_->coefs.data(), filter_->taps, filter_->up, filter_->down, history_.data(), phase_, newest_, count,
            out);
  outputsMade_ += count;
  return count;
}

void Resampler::Compact() {
  // Keep only the samples the next output's window can reach.
  const size_t keepFrom = newest_ + 1 - static_cast<size_t>(filter_->taps);
  if (keepFrom == 0) return;
  const size_t keep = history_.size() > keepFrom ? history_.size() - keepFrom : 0;
  if (keep > 0) std::copy(history_.begin() + static_cast<std::ptrdiff_t>(keepFrom), history_.end(), history_.begin());
  history_.resize(keep);
  newest_ -= keepFrom;
}

size_t Resampler::Process(const int16_t* in, size_t count, int16_t* out) {
  if (filter_->fromHz == filter_->toHz) {  // identity: a copy, no history needed
    std::copy(in, in + count, out);
    inputsSeen_ += count;
    outputsMade_ += count;
    return count;
  }
  const size_t n = OutputCountFor(count);
  Append(in, count);
  inputsSeen_ += count;
  Run(out, n);
  Compact();
  return n;
}

size_t Resampler::Flush(int16_t* out) {
  const size_t n = FlushCount();
  if (n > 0) {
    // The window of the last tail output ends at newest_ + floor((phase_ + (n - 1) * down) / up).
    const uint64_t L = static_cast<uint64_t>(filter_->up), M = static_cast<uint64_t>(filter_->down);
    const size_t last = newest_ + static_cast<size_t>((phase_ + (n - 1) * M) / L);
    if (last + 1 > history_.size()) AppendZeros(last + 1 - history_.size());
    Run(out, n);
  }
  Reset();
  return n;
}

}  // namespace dsp
