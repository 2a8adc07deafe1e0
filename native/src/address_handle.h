// AddressHandle: where a UD send goes (ibv_ah).
#pragma once

#include <infiniband/verbs.h>

#include "util/wrapped.h"

namespace rdmajs {

class ProtectionDomain;

class AddressHandle : public Wrapped<AddressHandle> {
 public:
  static constexpr Kind kKind = Kind::AddressHandle;
  static Napi::Function Init(Napi::Env env);

  explicit AddressHandle(const Napi::CallbackInfo& info);
  ~AddressHandle() override;

  ibv_ah* Handle() const { return ah_; }

 protected:
  int Release() override;

 private:
  Napi::Value GetId(const Napi::CallbackInfo& info);

  ibv_ah* ah_ = nullptr;
  ProtectionDomain* pd_ = nullptr;
  uint32_t id_ = 0;
};

// Fills an ibv_ah_attr from { dlid, sl, srcPathBits, staticRate, portNum, grh? }.
void ReadAhAttr(const Args& args, Napi::Object o, const char* method, ibv_ah_attr* out);

// The inverse: an ibv_ah_attr as { dlid, sl, srcPathBits, staticRate, portNum,
// grh? } (ReadAhAttr accepts it back unchanged).
Napi::Object AhAttrToObject(Napi::Env env, const ibv_ah_attr& a);

}  // namespace rdmajs
