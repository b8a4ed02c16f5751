// Where the DSP has AVX2 kernels beside its portable ones, and the one rule for choosing between them when the addon
// loads: AVX2 where the CPU has it, unless an environment variable (one per kernel family, so the tests can run each
// portable path) says "scalar".
#pragma once

#include <cstdlib>
#include <cstring>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define DSP_HAS_AVX2_KERNELS 1
#define DSP_AVX2 __attribute__((target("avx2")))
#include <immintrin.h>
#else
#define DSP_HAS_AVX2_KERNELS 0
#endif

namespace dsp {

// Whether to use the AVX2 kernels: built with them, the CPU has AVX2, and `forceScalarEnv` is not set to "scalar".
inline bool ShouldUseAvx2(const char* forceScalarEnv) {
  const char* forced = std::getenv(forceScalarEnv);
  if (forced != nullptr && std::strcmp(forced, "scalar") == 0) return false;
#if DSP_HAS_AVX2_KERNELS
  __builtin_cpu_init();  // we may run before libgcc's own constructor has filled in the CPU features
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

}  // namespace dsp
