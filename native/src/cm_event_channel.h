// CmEventChannel: where librdmacm reports connection events
// (rdma_event_channel), watched by libuv so they arrive on the event loop.
#pragma once

#include <rdma/rdma_cma.h>
#include <uv.h>

#include "common.h"

namespace rdmajs {

class CmEventChannel : public Napi::ObjectWrap<CmEventChannel>, public Resource {
 public:
  static constexpr const char* kTypeName = "CmEventChannel";
  static Napi::Function Init(Napi::Env env);

  explicit CmEventChannel(const Napi::CallbackInfo& info);
  ~CmEventChannel() override;

  rdma_event_channel* Handle() const { return channel_; }

 protected:
  int Release() override;

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Drain();

  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value SetHandler(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);

  Napi::Env env_;
  rdma_event_channel* channel_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference handler_;
};

}  // namespace rdmajs
