// The VAD's state machine and floor tracker. The floor falls quickly toward quieter frames
// (floorReleaseDbPerS), rises slowly toward louder ones (floorAttackDbPerS), and is never below the quietest
// level of the last floorWindowMs, so a steady noise that appears mid-call ends a false turn within about
// that window plus the hangover. The first frame seeds the floor (if louder than initialFloorDbfs), so a line
// that starts noisy does not open a turn.
#include "vad.h"

#include <algorithm>
#include <cmath>

#include "avx2-kernels.h"

namespace dsp {

namespace {

// Per-frame path: the sum of a frame's squared samples, exact (at most 2^30 a sample, so 2^33 samples fit).
uint64_t SumOfSquaresScalar(const int16_t* pcm, size_t count) {
  int64_t sum = 0;
  for (size_t i = 0; i < count; i++) sum += static_cast<int32_t>(pcm[i]) * pcm[i];
  return static_cast<uint64_t>(sum);
}

#if DSP_HAS_AVX2_KERNELS

// 16 samples a step: madd gives 8 sums of two squares, each at most 2^31 (both samples -32768), which fits an
// unsigned 32-bit lane, so they are widened as unsigned before they are added up in 64 bits. The same sum as the
// scalar loop, bit for bit; at 160 samples about 1/5 of its instructions.
DSP_AVX2 uint64_t SumOfSquaresAvx2(const int16_t* pcm, size_t count) {
  __m256i sum = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pcm + i));
    const __m256i pairs = _mm256_madd_epi16(s, s);
    sum = _mm256_add_epi64(sum, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(pairs)));
    sum = _mm256_add_epi64(sum, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(pairs, 1)));
  }
  const __m128i half = _mm_add_epi64(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  const uint64_t total = static_cast<uint64_t>(_mm_cvtsi128_si64(half)) + static_cast<uint64_t>(_mm_extract_epi64(half, 1));
  return total + SumOfSquaresScalar(pcm + i, count - i);
}

#endif  // DSP_HAS_AVX2_KERNELS

struct LevelKernel {
  uint64_t (*sumOfSquares)(const int16_t*, size_t);
  const char* name;
};

LevelKernel SelectLevelKernel() {
#if DSP_HAS_AVX2_KERNELS
  if (ShouldUseAvx2("AI_CRMD_LEVEL_KERNEL")) return {SumOfSquaresAvx2, "avx2"};
#endif
  return {SumOfSquaresScalar, "scalar"};
}

// Set once while the addon loads, read-only afterwards.
const LevelKernel kLevelKernel = SelectLevelKernel();

}  // namespace

float LevelDbfs(const int16_t* pcm, size_t count) {
  if (count == 0) return kMinLevelDbfs;
  const uint64_t sum = kLevelKernel.sumOfSquares(pcm, count);
  if (sum == 0) return kMinLevelDbfs;
  const double meanSquare = static_cast<double>(sum) / static_cast<double>(count);
  const double db = 10.0 * std::log10(meanSquare / (32768.0 * 32768.0));
  return static_cast<float>(std::max(db, static_cast<double>(kMinLevelDbfs)));
}

const char* LevelKernelName() { return kLevelKernel.name; }

void VadState::Configure(const VadParams& params) {
  params_ = params;
  onsetFrames_ = std::max(1, static_cast<int>(std::ceil(params.onsetMs / kFrameMs)));
  hangoverFrames_ = std::max(1, static_cast<int>(std::ceil(params.hangoverMs / kFrameMs)));
  const int windowFrames = static_cast<int>(std::ceil(params.floorWindowMs / kFrameMs));
  blockFrames_ = windowFrames <= 0 ? 0 : std::max(1, (windowFrames + kBlocks - 1) / kBlocks);
  attackPerFrame_ = static_cast<float>(params.floorAttackDbPerS * kFrameMs / 1000.0);
  releasePerFrame_ = static_cast<float>(params.floorReleaseDbPerS * kFrameMs / 1000.0);
  Reset();
}

void VadState::Reset() {
  hasSeenFrame_ = false;
  isInTurn_ = false;
  activeRun_ = 0;
  quietRun_ = 0;
  floor_ = static_cast<float>(params_.initialFloorDbfs);
  blocksFilled_ = 0;
  blockNext_ = 0;
  blockCount_ = 0;
  blockMin_ = 0;
}

VadResult VadState::Step(float level) {
  if (!hasSeenFrame_) {
    hasSeenFrame_ = true;
    floor_ = std::max(floor_, level);
  }
  const float floorUsed = floor_;
  const bool isActive = level > floor_ + static_cast<float>(params_.marginDb) &&
                        level > static_cast<float>(params_.minSpeechDbfs);

  // Floor: fall fast, rise slowly...
  if (level < floor_) {
    floor_ = std::max(level, floor_ - releasePerFrame_);
  } else {
    floor_ = std::min(level, floor_ + attackPerFrame_);
  }
  // ...and never below the quietest level of the window (once the window has been seen in full).
  if (blockFrames_ > 0) {
    blockMin_ = blockCount_ == 0 ? level : std::min(blockMin_, level);
    if (++blockCount_ == blockFrames_) {
      blockMins_[blockNext_] = blockMin_;
      blockNext_ = (blockNext_ + 1) % kBlocks;
      blocksFilled_ = std::min(blocksFilled_ + 1, kBlocks);
      blockCount_ = 0;
    }
    if (blocksFilled_ == kBlocks) {
      float windowMin = blockCount_ > 0 ? blockMin_ : blockMins_[0];
      for (int i = 0; i < kBlocks; i++) windowMin = std::min(windowMin, blockMins_[i]);
      floor_ = std::max(floor_, windowMin);
    }
  }
  floor_ = std::max(floor_, kMinLevelDbfs);

  uint8_t event = kVadNone;
  if (!isInTurn_) {
    activeRun_ = isActive ? activeRun_ + 1 : 0;
    if (activeRun_ >= onsetFrames_) {
      isInTurn_ = true;
      quietRun_ = 0;
      event = kVadSpeechStart;
    }
  } else {
    quietRun_ = isActive ? 0 : quietRun_ + 1;
    if (quietRun_ >= hangoverFrames_) {
      isInTurn_ = false;
      activeRun_ = 0;
      event = kVadSpeechEnd;
    }
  }
  return VadResult{level, floorUsed, event, isInTurn_};
}

}  // namespace dsp
