// Energy VAD on 20 ms frames: the frame level in dBFS against an adaptive noise floor. A turn starts when
// the level stays above floor + margin (and above an absolute gate) for onsetMs, and ends after hangoverMs
// below it. Plain value state, no allocation: one VadState per call, kept wherever the caller likes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dsp {

constexpr float kMinLevelDbfs = -100.0f;  // the level reported for digital silence
constexpr int kFrameMs = 20;

enum VadEvent : uint8_t { kVadNone = 0, kVadSpeechStart = 1, kVadSpeechEnd = 2 };

struct VadParams {
  int sampleRateHz = 8000;
  double onsetMs = 100;
  double hangoverMs = 700;
  double marginDb = 8;
  double minSpeechDbfs = -45;
  double floorAttackDbPerS = 3;
  double floorReleaseDbPerS = 24;
  double initialFloorDbfs = -50;
  double floorWindowMs = 1500;
};

constexpr int kVadParamCount = 9;  // the order of the fields above, as the binding passes them

struct VadResult {
  float levelDbfs;
  float floorDbfs;
  uint8_t event;
  bool isSpeech;
};

class VadState {
 public:
  VadState() { Configure(VadParams{}); }
  void Configure(const VadParams& params);
  void Reset();
  const VadParams& params() const { return params_; }
  int samplesPerFrame() const { return params_.sampleRateHz / 1000 * kFrameMs; }

  // Per-frame path: no allocation, no throw.
  VadResult Step(float levelDbfs);

 private:
  static constexpr int kBlocks = 4;  // the floor window is tracked as the minima of 4 sub-windows

  VadParams params_;
  int onsetFrames_ = 5;
  int hangoverFrames_ = 35;
  int blockFrames_ = 19;
  float attackPerFrame_ = 0;
  float releasePerFrame_ = 0;

  bool hasSeenFrame_ = false;
  bool isInTurn_ = false;
  int activeRun_ = 0;
  int quietRun_ = 0;
  float floor_ = 0;
  float blockMins_[kBlocks] = {};
  int blocksFilled_ = 0;
  int blockNext_ = 0;
  int blockCount_ = 0;
  float blockMin_ = 0;
};

// RMS level of a frame in dBFS (20*log10(rms / 32768)), at least kMinLevelDbfs. Per-frame path.
float LevelDbfs(const int16_t* pcm, size_t count);

// The kernel LevelDbfs sums with: "avx2" on x86-64 CPUs that have it, else "scalar" (AI_CRMD_LEVEL_KERNEL=scalar in
// the environment forces it); chosen once when the addon loads.
const char* LevelKernelName();

}  // namespace dsp
