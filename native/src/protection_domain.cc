#include "protection_domain.h"

#include <cerrno>
#include <string>
#include <vector>

#include "context.h"
#include "memory_region.h"

namespace rdmajs {

Napi::Function ProtectionDomain::Init(Napi::Env env) {
  return Define(env, {
      InstanceMethod<&ProtectionDomain::AdviseMr>("adviseMr"),
  });
}

ProtectionDomain::ProtectionDomain(const Napi::CallbackInfo& info) : Wrapped(info) {
  Args args(info, "ibv_alloc_pd");
  context_ = args.Wrapped<Context>(0, "context");
  pd_ = ibv_alloc_pd(context_->Handle());
  if (pd_ == nullptr) ThrowRdmaError(info.Env(), "ibv_alloc_pd", errno ? errno : ENOMEM);
  AttachTo(context_, info[0].As<Napi::Object>());
}

ProtectionDomain::~ProtectionDomain() { Close(); }

int ProtectionDomain::Release() {
  if (pd_ == nullptr) return 0;
  int err = ibv_dealloc_pd(pd_);
  pd_ = nullptr;
  return err;
}

// adviseMr(advice, flags, sg: [{ mr, offset, length }]): ibv_advise_mr
// over ranges of this PD's regions. Every range is checked here (the TS layer
// checks too) because the provider trusts the lkey and address it is given.
Napi::Value ProtectionDomain::AdviseMr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_advise_mr");
  Args args(info, "ibv_advise_mr");
  uint32_t advice = args.Uint32(0, "advice", IBV_ADVISE_MR_ADVICE_PREFETCH, IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT);
  uint32_t flags = args.Uint32(1, "flags", 0, IBV_ADVISE_MR_FLAG_FLUSH);
  Napi::Object list = args.Object(2, "sg");
  if (!list.IsArray()) args.TypeError("sg must be an array");
  uint32_t n = list.As<Napi::Array>().Length();
  if (n == 0) args.RangeError("sg must not be empty");
  std::vector<ibv_sge> sges(n);
  for (uint32_t i = 0; i < n; i++) {
    std::string where = "sg[" + std::to_string(i) + "]";
    Napi::Value e = list.Get(i);
    if (!e.IsObject()) args.TypeError(where + " must be an object");
    Props p(e.As<Napi::Object>(), "ibv_advise_mr");
    Napi::Value mrValue = p.Get("mr");
    if (!mrValue.IsObject() || !mrValue.As<Napi::Object>().InstanceOf(MemoryRegion::Constructor(env))) {
      args.TypeError(where + ".mr must be a MemoryRegion");
    }
    MemoryRegion* mr = MemoryRegion::Unwrap(mrValue.As<Napi::Object>());
    if (mr->IsClosed()) args.TypeError(where + ".mr is closed");
    if (mr->GetPd() != this) args.TypeError(where + ".mr is registered in another protection domain");
    uint32_t offset = p.Uint32("offset", 0);
    if (!p.Has("length")) args.TypeError(where + ".length is required");
    uint32_t length = p.Uint32("length", 0, 1);
    uint64_t addr = reinterpret_cast<uintptr_t>(mr->Handle()->addr) + offset;
    if (!mr->Covers(addr, length)) args.RangeError(where + " lies outside its memory region");
    sges[i] = ibv_sge{addr, length, mr->Handle()->lkey};
  }
  int err = ibv_advise_mr(pd_, static_cast<ibv_advise_mr_advice>(advice), flags, sges.data(), n);
  if (err != 0) {
    ThrowRdmaError(env, "ibv_advise_mr", err,
                   err == EOPNOTSUPP ? "this provider has no on-demand paging (e.g. rxe)" : "");
  }
  return env.Undefined();
}

}  // namespace rdmajs
