// AsyncEvents: a device's async-event fd (ibv_get_async_event) watched on the
// libuv loop. Each event is copied, acked at once, and handed to a JS handler
// as a plain object { type, qpNum?, port? }.
#pragma once

#include <infiniband/verbs.h>

#include <vector>

#include "util/fd_watcher.h"

namespace rdmajs {

class Context;

class AsyncEvents {
 public:
  // Makes ctx->async_fd non-blocking and starts watching it, unref'd. Throws
  // an RdmaError on failure; the device stays the caller's to close.
  AsyncEvents(Napi::Env env, ibv_context* ctx, Context* owner);
  ~AsyncEvents() { Stop(); }
  AsyncEvents(const AsyncEvents&) = delete;
  AsyncEvents& operator=(const AsyncEvents&) = delete;

  // An empty function clears the handler (events are still read and acked).
  void SetHandler(Napi::Function handler);
  // Whether the watcher keeps the event loop alive.
  void SetRef(bool ref) { watcher_.SetRef(ref); }
  // Closes the watcher (before ibv_close_device); no event is delivered after.
  void Stop();

 private:
  struct Event {
    ibv_event_type type;
    uint32_t qpNum;
    uint32_t port;
  };

  static void OnReadable(void* owner, int status);
  void Drain();
  void Dispatch();

  Napi::Env env_;
  ibv_context* ctx_;
  Context* owner_;
  FdWatcher watcher_;
  Napi::FunctionReference handler_;
  std::vector<Event> pending_;  // reused across wake-ups
};

}  // namespace rdmajs
