// ProtectionDomain: groups MRs and QPs that may be used together (ibv_pd).
#pragma once

#include <infiniband/verbs.h>

#include <unordered_map>

#include "util/wrapped.h"

namespace rdmajs {

class Context;
class MemoryRegion;
class AddressHandle;

class ProtectionDomain : public Wrapped<ProtectionDomain> {
 public:
  static constexpr Kind kKind = Kind::ProtectionDomain;
  static Napi::Function Init(Napi::Env env);

  explicit ProtectionDomain(const Napi::CallbackInfo& info);
  ~ProtectionDomain() override;

  ibv_pd* Handle() const { return pd_; }
  Context* GetContext() const { return context_; }

  // lkey -> MR, so inline sends (which the provider memcpy's from a raw
  // address without any key check) can be verified against live memory.
  void AddRegion(uint32_t lkey, MemoryRegion* mr) { regions_[lkey] = mr; }
  void RemoveRegion(uint32_t lkey) { regions_.erase(lkey); }
  MemoryRegion* FindRegion(uint32_t lkey) const {
    auto it = regions_.find(lkey);
    return it == regions_.end() ? nullptr : it->second;
  }

  // Address handles by id: UD work requests name their AH by this id, so a
  // stale or forged id is refused instead of dereferenced.
  uint32_t AddAddressHandle(AddressHandle* ah) {
    uint32_t id = nextAhId_++;
    ahs_[id] = ah;
    return id;
  }
  void RemoveAddressHandle(uint32_t id) { ahs_.erase(id); }
  AddressHandle* FindAddressHandle(uint32_t id) const {
    auto it = ahs_.find(id);
    return it == ahs_.end() ? nullptr : it->second;
  }

 protected:
  int Release() override;

 private:
  Napi::Value AdviseMr(const Napi::CallbackInfo& info);

  ibv_pd* pd_ = nullptr;
  Context* context_ = nullptr;
  std::unordered_map<uint32_t, MemoryRegion*> regions_;
  std::unordered_map<uint32_t, AddressHandle*> ahs_;
  uint32_t nextAhId_ = 1;
};

}  // namespace rdmajs
