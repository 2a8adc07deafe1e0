// FdWatcher: one non-blocking fd (completion channel, async events, rdma_cm
// events) watched for reads on the libuv loop. It owns its uv_poll_t: Stop()
// or the destructor closes it, and the handle is freed once libuv is done
// with it (environment teardown waits for that).
#pragma once

#include <napi.h>
#include <uv.h>

namespace rdmajs {

class FdWatcher {
 public:
  // Runs on the loop thread; status < 0 when the fd is in error.
  using Callback = void (*)(void* owner, int status);

  FdWatcher() = default;
  ~FdWatcher() { Stop(); }
  FdWatcher(const FdWatcher&) = delete;
  FdWatcher& operator=(const FdWatcher&) = delete;

  // Makes fd non-blocking (so a drain reads until EAGAIN instead of blocking
  // the loop) and watches it, unref'd: watching alone never keeps the process
  // alive. Throws an RdmaError naming the failed call (`what` names the fd
  // for fcntl); the fd stays the caller's either way.
  void Start(Napi::Env env, int fd, const char* what, Callback cb, void* owner);
  bool Active() const { return poll_ != nullptr; }
  // Whether the watch keeps the event loop alive.
  void SetRef(bool ref);
  // Stops reading (the fd is in error: do not spin) until Stop().
  void Pause();
  // Closes the handle: no callback runs after. Harmless when not started.
  void Stop();

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events);

  napi_env env_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  Callback cb_ = nullptr;
  void* owner_ = nullptr;
};

}  // namespace rdmajs
