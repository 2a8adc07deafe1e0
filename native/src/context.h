// Context: an open RDMA device (ibv_context).
#pragma once

#include <infiniband/verbs.h>

#include <memory>

#include "async_events.h"
#include "util/wrapped.h"

namespace rdmajs {

class Context : public Wrapped<Context> {
 public:
  static constexpr Kind kKind = Kind::Context;
  static Napi::Function Init(Napi::Env env);
  static Napi::Value ListDevices(const Napi::CallbackInfo& info);

  explicit Context(const Napi::CallbackInfo& info);
  ~Context() override;

  ibv_context* Handle() const { return ctx_; }

 protected:
  int Release() override;

 private:
  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value QueryDevice(const Napi::CallbackInfo& info);
  Napi::Value QueryPort(const Napi::CallbackInfo& info);
  Napi::Value QueryGidTable(const Napi::CallbackInfo& info);
  Napi::Value InitAhAttrFromWc(const Napi::CallbackInfo& info);
  Napi::Value SetEventHandler(const Napi::CallbackInfo& info);
  Napi::Value SetEventRef(const Napi::CallbackInfo& info);

  ibv_context* ctx_ = nullptr;
  // Stopped in Release(); freed only with the Context, as a handler running
  // in AsyncEvents::Dispatch() may close the context.
  std::unique_ptr<AsyncEvents> events_;
  std::string name_;
  Napi::Env env_;
};

}  // namespace rdmajs
