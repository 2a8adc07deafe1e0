// MemoryRegion: JS memory registered with the NIC (ibv_mr).
#pragma once

#include <infiniband/verbs.h>
#include <v8.h>

#include <memory>

#include "util/wrapped.h"

namespace rdmajs {

class ProtectionDomain;

class MemoryRegion : public Wrapped<MemoryRegion> {
 public:
  static constexpr Kind kKind = Kind::MemoryRegion;
  static Napi::Function Init(Napi::Env env);

  explicit MemoryRegion(const Napi::CallbackInfo& info);
  ~MemoryRegion() override;

  ibv_mr* Handle() const { return mr_; }
  ProtectionDomain* GetPd() const { return pd_; }
  // Work requests in flight (and SRQs holding posted receives) hold the
  // region: it cannot be deregistered (EBUSY) nor collected meanwhile.
  void Hold() {
    if (holds_++ == 0) Ref();
  }
  void Drop() {
    if (holds_ > 0 && --holds_ == 0) Unref();
  }

  // True when [addr, addr+len) lies inside this registration.
  bool Covers(uint64_t addr, uint32_t len) const {
    uint64_t base = reinterpret_cast<uintptr_t>(mr_->addr);
    return addr >= base && len <= mr_->length && addr - base <= mr_->length - len;
  }

 protected:
  int Release() override;
  void CheckClosable(Napi::Env env) const override;

 private:
  Napi::Value GetAddress(const Napi::CallbackInfo& info);
  Napi::Value GetLength(const Napi::CallbackInfo& info);
  Napi::Value GetLkey(const Napi::CallbackInfo& info);
  Napi::Value GetRkey(const Napi::CallbackInfo& info);
  Napi::Value GetHolds(const Napi::CallbackInfo& info);

  ibv_mr* mr_ = nullptr;
  ProtectionDomain* pd_ = nullptr;
  // Owning the backing store (not just the ArrayBuffer object) keeps the
  // memory alive even if JS detaches or transfers the ArrayBuffer.
  std::shared_ptr<v8::BackingStore> store_;
  uint32_t lkey_ = 0, rkey_ = 0;
  uint64_t address_ = 0;
  size_t length_ = 0;
  uint32_t holds_ = 0;
};

}  // namespace rdmajs
