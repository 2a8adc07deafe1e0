// SharedReceiveQueue: one pool of receive buffers for many QPs (ibv_srq).
// Completions arrive out of order across its QPs, so its tracker hands out
// slots from a free list.
#pragma once

#include <infiniband/verbs.h>

#include "util/wrapped.h"
#include "descriptors.h"
#include "work_tracker.h"

namespace rdmajs {

class ProtectionDomain;

class SharedReceiveQueue : public Wrapped<SharedReceiveQueue> {
 public:
  static constexpr Kind kKind = Kind::SharedReceiveQueue;
  static Napi::Function Init(Napi::Env env);

  explicit SharedReceiveQueue(const Napi::CallbackInfo& info);
  ~SharedReceiveQueue() override;

  ibv_srq* Handle() const { return srq_; }
  ProtectionDomain* GetPd() const { return pd_; }
  uint64_t Complete(uint64_t wrId) { return tracker_.Complete(wrId); }

 protected:
  int Release() override;

 private:
  Napi::Value GetCap(const Napi::CallbackInfo& info);
  Napi::Value BindDescriptors(const Napi::CallbackInfo& info);
  Napi::Value PostRecv(const Napi::CallbackInfo& info);
  Napi::Value Modify(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);

  ibv_srq* srq_ = nullptr;
  ProtectionDomain* pd_ = nullptr;
  ibv_srq_attr attr_{};
  RecvChain recv_;
  WorkTracker tracker_;
};

}  // namespace rdmajs
