// Wrapped<T>: the JS class of every verbs wrapper T (CRTP over ObjectWrap,
// lifetimes from Resource), with the members they all share: the `closed`
// getter, close() and setOnClosed(fn) (see Resource::NotifyClosed). T declares `static constexpr Kind kKind`, which names
// the class and its release verb (resource.cc).
#pragma once

#include <napi.h>

#include <initializer_list>
#include <vector>

#include "addon_data.h"
#include "args.h"
#include "errors.h"
#include "resource.h"

namespace rdmajs {

template <typename T>
class Wrapped : public Napi::ObjectWrap<T>, public Resource {
 public:
  using Property = typename Napi::ObjectWrap<T>::PropertyDescriptor;

  explicit Wrapped(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info), Resource(T::kKind) {}

  // The JS class of T in this environment (registered by addon.cc).
  static Napi::Function Constructor(Napi::Env env) { return GetData(env)->ctors[static_cast<int>(T::kKind)].Value(); }

 protected:
  // The JS class: T's own properties, then `closed` and close().
  static Napi::Function Define(Napi::Env env, std::initializer_list<Property> own) {
    using Getter = typename Napi::ObjectWrap<T>::InstanceGetterCallback;
    using Method = typename Napi::ObjectWrap<T>::InstanceMethodCallback;
    std::vector<Property> props(own);
    // Runtime (not template) descriptors: a base member pointer is not a
    // valid template argument for T's.
    props.push_back(Napi::ObjectWrap<T>::InstanceAccessor("closed", static_cast<Getter>(&Wrapped::GetClosed), nullptr));
    props.push_back(Napi::ObjectWrap<T>::InstanceMethod("close", static_cast<Method>(&Wrapped::CloseJs)));
    props.push_back(Napi::ObjectWrap<T>::InstanceMethod("setOnClosed", static_cast<Method>(&Wrapped::SetOnClosedJs)));
    return Napi::ObjectWrap<T>::DefineClass(env, KindName(T::kKind), props);
  }

  // Lets T refuse a JS close() of an open object by throwing; a cascade from
  // a parent is never refused.
  virtual void CheckClosable(Napi::Env env) const {}

  Napi::Object Self() override { return this->Value(); }

 private:
  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), IsClosed()); }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!IsClosed()) CheckClosable(env);
    if (env.IsExceptionPending()) return env.Undefined();
    std::vector<Resource*> closed;
    int err = Close(&closed);
    NotifyClosed(env, closed);
    if (err != 0 && !env.IsExceptionPending()) ThrowRdmaError(env, ReleaseVerb(T::kKind), err);
    return env.Undefined();
  }

  // setOnClosed(fn?): fn runs (this = the object) when a JS close() closes
  // it, directly or by cascade. Without fn: none.
  Napi::Value SetOnClosedJs(const Napi::CallbackInfo& info) {
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      Args args(info, "setOnClosed");
      SetOnClosed(args.Function(0, "fn"));
    } else {
      SetOnClosed(Napi::Function());
    }
    return info.Env().Undefined();
  }
};

}  // namespace rdmajs
