// MemoryWindow: a remotely accessible window onto part of a memory region,
// bound and invalidated through a QP's send queue (ibv_mw, type 1).
#pragma once

#include <infiniband/verbs.h>

#include "util/wrapped.h"

namespace rdmajs {

class ProtectionDomain;

class MemoryWindow : public Wrapped<MemoryWindow> {
 public:
  static constexpr Kind kKind = Kind::MemoryWindow;
  static Napi::Function Init(Napi::Env env);

  explicit MemoryWindow(const Napi::CallbackInfo& info);
  ~MemoryWindow() override;

 protected:
  int Release() override;

 private:
  Napi::Value GetRkey(const Napi::CallbackInfo& info);
  Napi::Value Bind(const Napi::CallbackInfo& info);

  ibv_mw* mw_ = nullptr;
  ProtectionDomain* pd_ = nullptr;
};

}  // namespace rdmajs
