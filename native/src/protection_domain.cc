#include "protection_domain.h"

#include <cerrno>

#include "context.h"

namespace rdmajs {

Napi::Function ProtectionDomain::Init(Napi::Env env) {
  return Define(env, {});
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

}  // namespace rdmajs
