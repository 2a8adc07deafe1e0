#include "protection_domain.h"

#include <cerrno>

#include "context.h"

namespace rdmajs {

Napi::Function ProtectionDomain::Init(Napi::Env env) {
  return DefineClass(env, "ProtectionDomain",
                     {
                         InstanceAccessor<&ProtectionDomain::GetClosed>("closed"),
                         InstanceMethod<&ProtectionDomain::CloseJs>("close"),
                     });
}

ProtectionDomain::ProtectionDomain(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<ProtectionDomain>(info), Resource(Kind::ProtectionDomain, kTypeName) {
  Args args(info, "ibv_alloc_pd");
  context_ = args.Wrapped<Context>(0, "context", GetData(info.Env())->contextCtor);
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

Napi::Value ProtectionDomain::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), IsClosed());
}

Napi::Value ProtectionDomain::CloseJs(const Napi::CallbackInfo& info) {
  int err = Close();
  if (err != 0) ThrowRdmaError(info.Env(), "ibv_dealloc_pd", err);
  return info.Env().Undefined();
}

}  // namespace rdmajs
