// CmEventChannel: where librdmacm reports connection events
// (rdma_event_channel), watched by libuv so they arrive on the event loop.
#pragma once

#include <rdma/rdma_cma.h>

#include "util/fd_watcher.h"
#include "util/wrapped.h"

namespace rdmajs {

class CmEventChannel : public Wrapped<CmEventChannel> {
 public:
  static constexpr Kind kKind = Kind::CmEventChannel;
  static Napi::Function Init(Napi::Env env);

  explicit CmEventChannel(const Napi::CallbackInfo& info);
  ~CmEventChannel() override;

  rdma_event_channel* Handle() const { return channel_; }

 protected:
  int Release() override;

 private:
  static void OnReadable(void* owner, int status);
  void Drain();

  Napi::Value SetHandler(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);

  Napi::Env env_;
  rdma_event_channel* channel_ = nullptr;
  FdWatcher watcher_;
  Napi::FunctionReference handler_;
};

}  // namespace rdmajs
