// See precise-timer.h. Lifetimes: the poll handle outlives the JS object when it is closed (libuv frees nothing
// itself), so it lives in a PollCore freed by its close callback; the timerfd is closed as soon as the poll is
// (uv_close stops watching it at once). An armed timer keeps its JS object and the loop alive, as setTimeout does;
// a disarmed one keeps neither. A worker's teardown closes it through an environment cleanup hook.
#include "precise-timer.h"

#if defined(__linux__)

#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace timing {
namespace {

// setTimeout's own limit (2^31 - 1 ms, ~24.8 days).
constexpr double kMaxDelayMs = 2147483647.0;
constexpr int64_t kNanosPerSecond = 1000000000;

std::string ErrnoText(const char* what, int error) { return std::string(what) + " failed: " + std::strerror(error); }

class PreciseTimerWrap;

// Owned by the poll handle: freed in its close callback.
struct PollCore {
  uv_poll_t poll;
  int fd = -1;
  PreciseTimerWrap* owner = nullptr;
};

class PreciseTimerWrap : public Napi::ObjectWrap<PreciseTimerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PreciseTimer",
                       {
                           InstanceMethod<&PreciseTimerWrap::Arm>("arm"),
                           InstanceMethod<&PreciseTimerWrap::Disarm>("disarm"),
                           InstanceMethod<&PreciseTimerWrap::CloseMethod>("close"),
                           InstanceAccessor<&PreciseTimerWrap::IsArmed>("isArmed"),
                           InstanceAccessor<&PreciseTimerWrap::IsClosed>("isClosed"),
                       });
  }

  explicit PreciseTimerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PreciseTimerWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "PreciseTimer: callback must be a function");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw Napi::Error::New(env, "PreciseTimer: this environment has no event loop");
    }
    const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) throw Napi::Error::New(env, "PreciseTimer: " + ErrnoText("timerfd_create", errno));
    auto core = std::make_unique<PollCore>();
    core->fd = fd;
    int status = uv_poll_init(loop, &core->poll, fd);
    if (status != 0) {
      ::close(fd);
      throw Napi::Error::New(env, std::string("PreciseTimer: uv_poll_init failed: ") + uv_strerror(status));
    }
    core->poll.data = core.get();
    core->owner = this;
    // The handle is initialised: from here on only uv_close may free it.
    core_ = core.release();
    status = uv_poll_start(&core_->poll, UV_READABLE, OnReadable);
    if (status != 0) {
      Close(false);
      throw Napi::Error::New(env, std::string("PreciseTimer: uv_poll_start failed: ") + uv_strerror(status));
    }
    uv_unref(reinterpret_cast<uv_handle_t*>(&core_->poll));
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "ai-crmd:PreciseTimer");
    if (napi_add_env_cleanup_hook(env, OnEnvCleanup, this) == napi_ok) hasCleanupHook_ = true;
  }

  ~PreciseTimerWrap() override { Close(true); }

 private:
  // arm(delayMs): fires once, delayMs (fractional) from now; arming again replaces the pending deadline.
  Napi::Value Arm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (core_ == nullptr) throw Napi::Error::New(env, "PreciseTimer: arm() after close()");
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "PreciseTimer: delayMs must be a number");
    const double delayMs = info[0].As<Napi::Number>().DoubleValue();
    if (!(delayMs >= 0 && delayMs <= kMaxDelayMs)) {
      throw Napi::RangeError::New(env, "PreciseTimer: delayMs must be from 0 to 2147483647 (got " +
                                           std::to_string(delayMs) + ")");
    }
    int64_t nanos = static_cast<int64_t>(std::llround(delayMs * 1e6));
    if (nanos < 1) nanos = 1;  // an all-zero it_value would disarm instead
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(nanos / kNanosPerSecond);
    spec.it_value.tv_nsec = static_cast<long>(nanos % kNanosPerSecond);
    if (timerfd_settime(core_->fd, 0, &spec, nullptr) != 0) {
      throw Napi::Error::New(env, "PreciseTimer: " + ErrnoText("timerfd_settime", errno));
    }
    SetArmed(true);
    return env.Undefined();
  }

  // disarm(): the pending deadline, if any, will not fire. A no-op when not armed or closed (as clearTimeout).
  Napi::Value Disarm(const Napi::CallbackInfo& info) {
    if (core_ != nullptr && isArmed_) {
      itimerspec spec{};  // all zero: disarm (an expiry not yet read is dropped with it)
      timerfd_settime(core_->fd, 0, &spec, nullptr);
      SetArmed(false);
    }
    return info.Env().Undefined();
  }

  Napi::Value CloseMethod(const Napi::CallbackInfo& info) {
    Close(false);
    return info.Env().Undefined();
  }

  Napi::Value IsArmed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), isArmed_); }
  Napi::Value IsClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), core_ == nullptr); }

  // While armed, the timer keeps the loop (uv_ref) and its JS object (a strong reference) alive.
  void SetArmed(bool isArmed) {
    if (isArmed == isArmed_) return;
    isArmed_ = isArmed;
    uv_handle_t* handle = reinterpret_cast<uv_handle_t*>(&core_->poll);
    if (isArmed) {
      uv_ref(handle);
      Ref();
    } else {
      uv_unref(handle);
      Unref();
    }
  }

  // Idempotent. From the destructor (the object is being finalized) its own reference is not touched.
  void Close(bool isFinalizing) {
    if (core_ == nullptr) return;
    if (isArmed_) {
      isArmed_ = false;
      if (!isFinalizing) Unref();
    }
    if (hasCleanupHook_) {
      napi_remove_env_cleanup_hook(Env(), OnEnvCleanup, this);
      hasCleanupHook_ = false;
    }
    PollCore* core = core_;
    core_ = nullptr;
    core->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&core->poll), OnPollClosed);
    // uv_close has stopped watching the fd (and dropped its pending events): it can go now.
    ::close(core->fd);
    core->fd = -1;
  }

  void Fire() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Object self = Value();  // keeps the object alive through the callback once the armed reference is gone
    SetArmed(false);
    try {
      callback_.MakeCallback(self, {}, *asyncContext_);
    } catch (const Napi::Error& error) {
      // No JS frame to throw into: the process's uncaughtException path, as a throwing setTimeout callback.
      napi_fatal_exception(env, error.Value());
    }
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* core = static_cast<PollCore*>(handle->data);
    if (core->owner == nullptr || status < 0) return;
    uint64_t expirations = 0;
    // EAGAIN: re-armed or disarmed after the readiness was reported; the new deadline is pending.
    if (::read(core->fd, &expirations, sizeof expirations) != static_cast<ssize_t>(sizeof expirations)) return;
    if (!core->owner->isArmed_) return;
    core->owner->Fire();
  }

  static void OnPollClosed(uv_handle_t* handle) { delete static_cast<PollCore*>(handle->data); }

  static void OnEnvCleanup(void* arg) {
    auto* self = static_cast<PreciseTimerWrap*>(arg);
    self->hasCleanupHook_ = false;  // running: nothing to remove
    self->Close(true);              // the environment is going: its references are not ours to touch
  }

  PollCore* core_ = nullptr;
  bool isArmed_ = false;
  bool hasCleanupHook_ = false;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace

Napi::Function DefinePreciseTimer(Napi::Env env) { return PreciseTimerWrap::Define(env); }

}  // namespace timing

#endif  // __linux__
