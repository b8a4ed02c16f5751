// The binding: typed arrays in, typed arrays out. Every argument is checked before memory is touched
// (TypeError for a wrong type, RangeError for a wrong size or value), so bad input is an exception, never a
// crash. Context-aware (Napi::Addon): each environment (main thread, worker) has its own instance with its
// own filter cache, and nothing mutable is shared between them.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "media-reader.h"
#include "media-writer.h"
#include "mulaw.h"
#include "precise-timer.h"
#include "resample.h"
#include "vad.h"

namespace {

using dsp::kFrameMs;

constexpr size_t kSamplesPerFrame8k = 160;

// ---------- argument checks ----------

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

const char* TypedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
  }
  return "TypedArray";
}

std::string Describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) return TypedArrayName(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsArrayBuffer()) return "ArrayBuffer";
  if (v.IsDataView()) return "DataView";
  if (v.IsArray()) return "Array";
  if (v.IsNumber()) return "number " + FormatNumber(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "string";
  if (v.IsBoolean()) return "boolean";
  if (v.IsFunction()) return "function";
  return "object";
}

[[noreturn]] void ThrowType(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

template <typename T>
T TypedArg(const Napi::CallbackInfo& info, size_t index, const char* name, napi_typedarray_type type) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    ThrowType(info.Env(), std::string(name) + " must be a" + (type == napi_int16_array ? "n " : " ") +
                              TypedArrayName(type) + " (got " + Describe(v) + ")");
  }
  return v.As<T>();
}

Napi::Int16Array Int16Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<Napi::Int16Array>(info, i, name, napi_int16_array);
}
Napi::Uint8Array Uint8Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<Napi::Uint8Array>(info, i, name, napi_uint8_array);
}
Napi::Float32Array Float32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<Napi::Float32Array>(info, i, name, napi_float32_array);
}
Napi::Float64Array Float64Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<Napi::Float64Array>(info, i, name, napi_float64_array);
}

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number (got " + Describe(v) + ")");
  return v.As<Napi::Number>().DoubleValue();
}

uint32_t IntegerArg(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi) {
  const double v = NumberArg(info, i, name);
  if (!(v >= lo && v <= hi) || v != std::floor(v)) {
    ThrowRange(info.Env(), std::string(name) + " must be an integer from " + FormatNumber(lo) + " to " +
                               FormatNumber(hi) + " (got " + FormatNumber(v) + ")");
  }
  return static_cast<uint32_t>(v);
}

int RateArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const double v = NumberArg(info, i, name);
  if (!dsp::IsSupportedRate(v)) {
    ThrowRange(info.Env(), std::string(name) + " must be one of 8000, 16000, 24000, 48000 (got " + FormatNumber(v) + ")");
  }
  return static_cast<int>(v);
}

void NeedRoom(Napi::Env env, const char* name, size_t have, size_t need, const char* unit) {
  if (have < need) {
    ThrowRange(env, std::string(name) + " is too short: " + std::to_string(need) + " " + unit + " needed, got " +
                        std::to_string(have));
  }
}

// The mu-law calls' own reading of their typed arrays: one napi_get_typedarray_info per argument (the checked helpers
// above make four: is-typed-array, the base and the typed wrapper each read the info), because when a caller converts
// one frame per call the crossing, not the codec, is most of the cost. False means "not exactly this kind of typed
// array": the caller then goes through the checked helpers, which throw the exact message.
template <typename T>
bool ReadTypedArray(napi_env env, napi_value v, napi_typedarray_type type, T** data, size_t* length) {
  napi_typedarray_type actual;
  void* p = nullptr;
  if (napi_get_typedarray_info(env, v, &actual, length, &p, nullptr, nullptr) != napi_ok || actual != type) return false;
  *data = static_cast<T*>(p);
  return true;
}

// VAD parameters arrive as a Float64Array in VadParams field order; dsp.ts checks them with friendly
// messages first, this is the addon's own guard.
struct ParamRange {
  const char* name;
  double lo, hi;
};
constexpr ParamRange kVadRanges[dsp::kVadParamCount] = {
    {"sampleRateHz", 8000, 16000},        {"onsetMs", 0, 5000},          {"hangoverMs", 0, 10000},
    {"marginDb", 0, 60},                  {"minSpeechDbfs", -100, 0},    {"floorAttackDbPerS", 0, 1000},
    {"floorReleaseDbPerS", 0, 1000},      {"initialFloorDbfs", -100, 0}, {"floorWindowMs", 0, 60000},
};

dsp::VadParams VadParamsArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Float64Array a = Float64Arg(info, i, "vad parameters");
  if (a.ElementLength() != dsp::kVadParamCount) {
    ThrowRange(info.Env(), "vad parameters must hold " + std::to_string(dsp::kVadParamCount) + " numbers (got " +
                               std::to_string(a.ElementLength()) + ")");
  }
  for (int k = 0; k < dsp::kVadParamCount; k++) {
    const double v = a[k];
    if (!(v >= kVadRanges[k].lo && v <= kVadRanges[k].hi)) {
      ThrowRange(info.Env(), std::string("vad ") + kVadRanges[k].name + " must be from " + FormatNumber(kVadRanges[k].lo) +
                                 " to " + FormatNumber(kVadRanges[k].hi) + " (got " + FormatNumber(v) + ")");
    }
  }
  if (a[0] != 8000 && a[0] != 16000) {
    ThrowRange(info.Env(), "vad sampleRateHz must be 8000 or 16000 (got " + FormatNumber(a[0]) + ")");
  }
  dsp::VadParams p;
  p.sampleRateHz = static_cast<int>(a[0]);
  p.onsetMs = a[1];
  p.hangoverMs = a[2];
  p.marginDb = a[3];
  p.minSpeechDbfs = a[4];
  p.floorAttackDbPerS = a[5];
  p.floorReleaseDbPerS = a[6];
  p.initialFloorDbfs = a[7];
  p.floorWindowMs = a[8];
  return p;
}

// ---------- the addon instance ----------

class DspAddon : public Napi::Addon<DspAddon> {
 public:
  DspAddon(Napi::Env env, Napi::Object exports);

  // Filters are designed once per (from, to) pair per environment and shared read-only by its Resamplers.
  std::shared_ptr<const dsp::PolyphaseFilter> Filter(int fromHz, int toHz) {
    auto key = std::make_pair(fromHz, toHz);
    auto it = filters_.find(key);
    if (it != filters_.end()) return it->second;
    auto f = dsp::PolyphaseFilter::Design(fromHz, toHz);
    filters_.emplace(key, f);
    return f;
  }

 private:
  // Per-frame path (when not batched): no allocation; the checks are the fast reads, then the exact errors.
  Napi::Value MulawEncodeInto(const Napi::CallbackInfo& info) {
    const int16_t* samples = nullptr;
    uint8_t* codes = nullptr;
    size_t count = 0, room = 0;
    if (info.Length() >= 2 && ReadTypedArray(info.Env(), info[0], napi_int16_array, &samples, &count) &&
        ReadTypedArray(info.Env(), info[1], napi_uint8_array, &codes, &room) && room >= count) {
      dsp::MulawEncode(samples, count, codes);
      return Napi::Value();  // undefined
    }
    Napi::Int16Array pcm = Int16Arg(info, 0, "pcm");
    Napi::Uint8Array out = Uint8Arg(info, 1, "out");
    NeedRoom(info.Env(), "out", out.ElementLength(), pcm.ElementLength(), "bytes");
    dsp::MulawEncode(pcm.Data(), pcm.ElementLength(), out.Data());
    return info.Env().Undefined();
  }

  // Per-frame path (when not batched): as MulawEncodeInto.
  Napi::Value MulawDecodeInto(const Napi::CallbackInfo& info) {
    const uint8_t* input = nullptr;
    int16_t* samples = nullptr;
    size_t count = 0, room = 0;
    if (info.Length() >= 2 && ReadTypedArray(info.Env(), info[0], napi_uint8_array, &input, &count) &&
        ReadTypedArray(info.Env(), info[1], napi_int16_array, &samples, &room) && room >= count) {
      dsp::MulawDecode(input, count, samples);
      return Napi::Value();  // undefined
    }
    Napi::Uint8Array codes = Uint8Arg(info, 0, "codes");
    Napi::Int16Array out = Int16Arg(info, 1, "out");
    NeedRoom(info.Env(), "out", out.ElementLength(), codes.ElementLength(), "samples");
    dsp::MulawDecode(codes.Data(), codes.ElementLength(), out.Data());
    return info.Env().Undefined();
  }

  // readCanonicalMedia(message: ArrayBuffer | Uint8Array, state: Uint8Array): the edge's per-message path (50 a
  // second per call), so one plain call with the fast reads first: 0 not canonical, 1 read with the previous ids, 2
  // read with new ids (native/media-reader.h). `state` is the socket's MediaReaderState, 8-byte aligned.
  Napi::Value ReadCanonicalMedia(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    uint8_t* stateBytes = nullptr;
    size_t stateLength = 0;
    if (info.Length() < 2 || !ReadTypedArray(env, info[1], napi_uint8_array, &stateBytes, &stateLength) ||
        stateLength != sizeof(twilio::MediaReaderState) ||
        reinterpret_cast<uintptr_t>(stateBytes) % alignof(twilio::MediaReaderState) != 0) {
      Napi::Uint8Array state = Uint8Arg(info, 1, "state");
      ThrowRange(info.Env(), "state must be a Uint8Array of " + std::to_string(sizeof(twilio::MediaReaderState)) +
                                 " bytes at an offset that is a multiple of 8 (got " + std::to_string(state.ByteLength()) +
                                 " bytes at offset " + std::to_string(state.ByteOffset()) + ")");
    }
    const uint8_t* bytes = nullptr;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_arraybuffer_info(env, info[0], &data, &length) == napi_ok) {
      bytes = static_cast<const uint8_t*>(data);
    } else if (!ReadTypedArray(env, info[0], napi_uint8_array, const_cast<uint8_t**>(&bytes), &length)) {
      ThrowType(info.Env(), "message must be an ArrayBuffer or a Uint8Array (got " + Describe(info[0]) + ")");
    }
    auto* state = reinterpret_cast<twilio::MediaReaderState*>(stateBytes);
    const twilio::MediaRead verdict = length == 0 ? twilio::MediaRead::kNotCanonical : twilio::ReadMediaInto(bytes, length, state);
    return Napi::Number::New(env, static_cast<uint32_t>(verdict));
  }

  // encodeMediaPayload(mulaw: Uint8Array, offset, frame: Uint8Array, payloadAt): the server's per-frame path, so the
  // fast reads first: the base64 of mulaw[offset .. offset+160) (without its "==") into frame[payloadAt ..
  // payloadAt+214).
  Napi::Value EncodeMediaPayload(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    uint8_t* mulaw = nullptr;
    uint8_t* frame = nullptr;
    size_t mulawLength = 0, frameLength = 0;
    double offset = -1, payloadAt = -1;
    const bool isFast = info.Length() >= 4 && ReadTypedArray(env, info[0], napi_uint8_array, &mulaw, &mulawLength) &&
                        napi_get_value_double(env, info[1], &offset) == napi_ok &&
                        ReadTypedArray(env, info[2], napi_uint8_array, &frame, &frameLength) &&
                        napi_get_value_double(env, info[3], &payloadAt) == napi_ok;
    if (!isFast) {
      Uint8Arg(info, 0, "mulaw");
      NumberArg(info, 1, "offset");
      Uint8Arg(info, 2, "frame");
      NumberArg(info, 3, "payloadAt");
    }
    if (!(offset >= 0 && offset == std::floor(offset) && offset + twilio::kMediaFrameBytes <= mulawLength)) {
      ThrowRange(info.Env(), "offset must be a whole number with 160 bytes of mulaw after it (got " + FormatNumber(offset) +
                                 " in " + std::to_string(mulawLength) + " bytes)");
    }
    if (!(payloadAt >= 0 && payloadAt == std::floor(payloadAt) &&
          payloadAt + twilio::kMediaPayloadCharsBeforePadding <= frameLength)) {
      ThrowRange(info.Env(), "payloadAt must be a whole number with 214 bytes of frame after it (got " +
                                 FormatNumber(payloadAt) + " in " + std::to_string(frameLength) + " bytes)");
    }
    twilio::EncodeMediaPayload(mulaw + static_cast<size_t>(offset), frame + static_cast<size_t>(payloadAt));
    return Napi::Value();  // undefined
  }

  // frameLevelsInto(pcm, samplesPerFrame, out): dBFS of each whole frame.
  Napi::Value FrameLevelsInto(const Napi::CallbackInfo& info) {
    Napi::Int16Array pcm = Int16Arg(info, 0, "pcm");
    const uint32_t spf = IntegerArg(info, 1, "samplesPerFrame", 1, 1 << 20);
    Napi::Float32Array out = Float32Arg(info, 2, "out");
    const size_t n = pcm.ElementLength();
    if (n % spf != 0) {
      ThrowRange(info.Env(), "pcm length must be a multiple of samplesPerFrame (" + std::to_string(spf) + "), got " +
                                 std::to_string(n));
    }
    NeedRoom(info.Env(), "out", out.ElementLength(), n / spf, "levels");
    for (size_t f = 0; f < n / spf; f++) out[f] = dsp::LevelDbfs(pcm.Data() + f * spf, spf);
    return info.Env().Undefined();
  }

  std::map<std::pair<int, int>, std::shared_ptr<const dsp::PolyphaseFilter>> filters_;
};

// ---------- Resampler ----------

class ResamplerWrap : public Napi::ObjectWrap<ResamplerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Resampler",
                       {
                           InstanceAccessor<&ResamplerWrap::FromHz>("fromHz"),
                           InstanceAccessor<&ResamplerWrap::ToHz>("toHz"),
                           InstanceAccessor<&ResamplerWrap::DelaySamples>("delaySamples"),
                           InstanceMethod<&ResamplerWrap::OutputLengthFor>("outputLengthFor"),
                           InstanceMethod<&ResamplerWrap::Process>("process"),
                           InstanceMethod<&ResamplerWrap::ProcessInto>("processInto"),
                           InstanceMethod<&ResamplerWrap::Flush>("flush"),
                           InstanceMethod<&ResamplerWrap::Reset>("reset"),
                       });
  }

  explicit ResamplerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ResamplerWrap>(info) {
    const int from = RateArg(info, 0, "fromHz");
    const int to = RateArg(info, 1, "toHz");
    resampler_ = std::make_unique<dsp::Resampler>(info.Env().GetInstanceData<DspAddon>()->Filter(from, to));
  }

 private:
  Napi::Value FromHz(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), resampler_->fromHz()); }
  Napi::Value ToHz(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), resampler_->toHz()); }
  Napi::Value DelaySamples(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), resampler_->delaySamples());
  }

  Napi::Value OutputLengthFor(const Napi::CallbackInfo& info) {
    const uint32_t n = IntegerArg(info, 0, "inputLength", 0, 4294967295.0);
    return Napi::Number::New(info.Env(), static_cast<double>(resampler_->OutputCountFor(n)));
  }

  Napi::Value Process(const Napi::CallbackInfo& info) {
    Napi::Int16Array in = Int16Arg(info, 0, "input");
    const size_t n = resampler_->OutputCountFor(in.ElementLength());
    Napi::Int16Array out = Napi::Int16Array::New(info.Env(), n);
    resampler_->Process(in.Data(), in.ElementLength(), out.Data());
    return out;
  }

  Napi::Value ProcessInto(const Napi::CallbackInfo& info) {
    Napi::Int16Array in = Int16Arg(info, 0, "input");
    Napi::Int16Array out = Int16Arg(info, 1, "out");
    NeedRoom(info.Env(), "out", out.ElementLength(), resampler_->OutputCountFor(in.ElementLength()), "samples");
    const size_t n = resampler_->Process(in.Data(), in.ElementLength(), out.Data());
    return Napi::Number::New(info.Env(), static_cast<double>(n));
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Int16Array out = Napi::Int16Array::New(info.Env(), resampler_->FlushCount());
    resampler_->Flush(out.Data());
    return out;
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    resampler_->Reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<dsp::Resampler> resampler_;
};

// ---------- Vad (one stream, one frame per call) ----------

class VadWrap : public Napi::ObjectWrap<VadWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Vad",
                       {
                           InstanceMethod<&VadWrap::Process>("process"),
                           InstanceMethod<&VadWrap::Reset>("reset"),
                       });
  }

  explicit VadWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VadWrap>(info) {
    state_.Configure(VadParamsArg(info, 0));
  }

 private:
  // process(frame, out): writes [levelDbfs, floorDbfs] to out, returns event | (isSpeech << 2).
  Napi::Value Process(const Napi::CallbackInfo& info) {
    Napi::Int16Array frame = Int16Arg(info, 0, "frame");
    Napi::Float32Array out = Float32Arg(info, 1, "out");
    const size_t spf = static_cast<size_t>(state_.samplesPerFrame());
    if (frame.ElementLength() != spf) {
      ThrowRange(info.Env(), "frame must hold " + std::to_string(spf) + " samples (20 ms at " +
                                 std::to_string(state_.params().sampleRateHz) + " Hz), got " +
                                 std::to_string(frame.ElementLength()));
    }
    NeedRoom(info.Env(), "out", out.ElementLength(), 2, "numbers");
    const dsp::VadResult r = state_.Step(dsp::LevelDbfs(frame.Data(), spf));
    out[0] = r.levelDbfs;
    out[1] = r.floorDbfs;
    return Napi::Number::New(info.Env(), r.event | (r.isSpeech ? 4 : 0));
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    state_.Reset();
    return info.Env().Undefined();
  }

  dsp::VadState state_;
};

// ---------- InboundBatcher (the per-tick hot path) ----------

// One ArrayBuffer, allocated once, holds every input and output region; JS sees typed-array views of it.
// Layout (each region aligned for its type): levels f32 | slots u32 | pcm i16 | codes u8 | events u8 | speech u8.
class InboundBatcherWrap : public Napi::ObjectWrap<InboundBatcherWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "InboundBatcher",
                       {
                           InstanceMethod<&InboundBatcherWrap::AllocSlot>("allocSlot"),
                           InstanceMethod<&InboundBatcherWrap::FreeSlot>("freeSlot"),
                           InstanceMethod<&InboundBatcherWrap::Process>("process"),
                           InstanceAccessor<&InboundBatcherWrap::MaxSlots>("maxSlots"),
                           InstanceAccessor<&InboundBatcherWrap::MaxFramesPerTick>("maxFramesPerTick"),
                           InstanceAccessor<&InboundBatcherWrap::SlotsInUse>("slotsInUse"),
                       });
  }

  explicit InboundBatcherWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<InboundBatcherWrap>(info) {
    Napi::Env env = info.Env();
    maxSlots_ = IntegerArg(info, 0, "maxSlots", 1, 65536);
    maxFrames_ = IntegerArg(info, 1, "maxFramesPerTick", 1, 65536);
    const size_t f = maxFrames_;
    const size_t levelsOff = 0, slotsOff = levelsOff + 4 * f, pcmOff = slotsOff + 4 * f;
    const size_t codesOff = pcmOff + 2 * kSamplesPerFrame8k * f, eventsOff = codesOff + kSamplesPerFrame8k * f;
    const size_t speechOff = eventsOff + f, total = speechOff + f;
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, total);
    buffer_ = Napi::Persistent(buffer);
    uint8_t* base = static_cast<uint8_t*>(buffer.Data());
    levels_ = reinterpret_cast<float*>(base + levelsOff);
    slots_ = reinterpret_cast<uint32_t*>(base + slotsOff);
    pcm_ = reinterpret_cast<int16_t*>(base + pcmOff);
    codes_ = base + codesOff;
    events_ = base + eventsOff;
    speech_ = base + speechOff;

    Napi::Object self = info.This().As<Napi::Object>();
    auto define = [&](const char* name, Napi::Value view) {
      self.DefineProperty(Napi::PropertyDescriptor::Value(name, view, napi_enumerable));
    };
    define("levelsDbfs", Napi::Float32Array::New(env, f, buffer, levelsOff));
    define("slots", Napi::Uint32Array::New(env, f, buffer, slotsOff));
    define("pcm", Napi::Int16Array::New(env, kSamplesPerFrame8k * f, buffer, pcmOff));
    define("codes", Napi::Uint8Array::New(env, kSamplesPerFrame8k * f, buffer, codesOff));
    define("events", Napi::Uint8Array::New(env, f, buffer, eventsOff));
    define("speech", Napi::Uint8Array::New(env, f, buffer, speechOff));

    states_.resize(maxSlots_);
    isInUse_.assign(maxSlots_, false);
    freeList_.reserve(maxSlots_);
    for (uint32_t s = maxSlots_; s > 0; s--) freeList_.push_back(s - 1);  // lowest slot first
  }

 private:
  Napi::Value MaxSlots(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), maxSlots_); }
  Napi::Value MaxFramesPerTick(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), maxFrames_); }
  Napi::Value SlotsInUse(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(maxSlots_ - freeList_.size()));
  }

  Napi::Value AllocSlot(const Napi::CallbackInfo& info) {
    const dsp::VadParams params = VadParamsArg(info, 0);
    if (params.sampleRateHz != 8000) {
      ThrowRange(info.Env(), "InboundBatcher slots take 8 kHz mu-law frames: vad sampleRateHz must be 8000 (got " +
                                 std::to_string(params.sampleRateHz) + ")");
    }
    if (freeList_.empty()) {
      ThrowRange(info.Env(), "InboundBatcher is full: all " + std::to_string(maxSlots_) + " slots are in use");
    }
    const uint32_t slot = freeList_.back();
    freeList_.pop_back();
    states_[slot].Configure(params);
    isInUse_[slot] = true;
    return Napi::Number::New(info.Env(), slot);
  }

  Napi::Value FreeSlot(const Napi::CallbackInfo& info) {
    const uint32_t slot = IntegerArg(info, 0, "slot", 0, maxSlots_ - 1);
    if (!isInUse_[slot]) ThrowRange(info.Env(), "slot " + std::to_string(slot) + " is not allocated");
    isInUse_[slot] = false;
    freeList_.push_back(slot);
    return info.Env().Undefined();
  }

  // process(count): one crossing per 20 ms tick for every call's frames. Per-frame path inside the loop:
  // no allocation, no N-API calls; every slot is checked before any state changes.
  Napi::Value Process(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint32_t count = IntegerArg(info, 0, "count", 0, maxFrames_);
    if (buffer_.Value().IsDetached()) {
      ThrowType(env, "InboundBatcher buffers were detached (transferred); create a new InboundBatcher");
    }
    for (uint32_t i = 0; i < count; i++) {
      const uint32_t s = slots_[i];
      if (s >= maxSlots_ || !isInUse_[s]) {
        ThrowRange(env, "slots[" + std::to_string(i) + "] is " + std::to_string(s) + ", which is not an allocated slot");
      }
    }
    for (uint32_t i = 0; i < count; i++) {
      int16_t* pcm = pcm_ + static_cast<size_t>(i) * kSamplesPerFrame8k;
      dsp::MulawDecode(codes_ + static_cast<size_t>(i) * kSamplesPerFrame8k, kSamplesPerFrame8k, pcm);
      const dsp::VadResult r = states_[slots_[i]].Step(dsp::LevelDbfs(pcm, kSamplesPerFrame8k));
      levels_[i] = r.levelDbfs;
      events_[i] = r.event;
      speech_[i] = r.isSpeech ? 1 : 0;
    }
    return env.Undefined();
  }

  uint32_t maxSlots_ = 0;
  uint32_t maxFrames_ = 0;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  float* levels_ = nullptr;
  uint32_t* slots_ = nullptr;
  int16_t* pcm_ = nullptr;
  uint8_t* codes_ = nullptr;
  uint8_t* events_ = nullptr;
  uint8_t* speech_ = nullptr;
  std::vector<dsp::VadState> states_;
  std::vector<bool> isInUse_;
  std::vector<uint32_t> freeList_;
};

DspAddon::DspAddon(Napi::Env env, Napi::Object exports) {
  DefineAddon(exports, {
                           InstanceMethod<&DspAddon::MulawEncodeInto>("mulawEncodeInto"),
                           InstanceMethod<&DspAddon::MulawDecodeInto>("mulawDecodeInto"),
                           InstanceMethod<&DspAddon::FrameLevelsInto>("frameLevelsInto"),
                           InstanceValue("Resampler", ResamplerWrap::Define(env)),
                           InstanceValue("Vad", VadWrap::Define(env)),
                           InstanceValue("InboundBatcher", InboundBatcherWrap::Define(env)),
                           InstanceMethod<&DspAddon::ReadCanonicalMedia>("readCanonicalMedia"),
                           InstanceMethod<&DspAddon::EncodeMediaPayload>("encodeMediaPayload"),
                           InstanceValue("mediaReaderStateBytes", Napi::Number::New(env, sizeof(twilio::MediaReaderState))),
                           InstanceValue("mediaReaderPayloadOffset", Napi::Number::New(env, offsetof(twilio::MediaReaderState, payload))),
                           InstanceValue("vadParamCount", Napi::Number::New(env, dsp::kVadParamCount)),
                           InstanceValue("minLevelDbfs", Napi::Number::New(env, dsp::kMinLevelDbfs)),
                           InstanceValue("mulawKernel", Napi::String::New(env, dsp::MulawKernelName())),
                           InstanceValue("levelKernel", Napi::String::New(env, dsp::LevelKernelName())),
                       });
#if defined(__linux__)
  exports.Set("PreciseTimer", timing::DefinePreciseTimer(env));
#endif
}

}  // namespace

NODE_API_ADDON(DspAddon)
