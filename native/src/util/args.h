// Argument checks for native methods: each getter throws a TypeError or
// RangeError naming the method and the argument, before any verb is called.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "resource.h"

namespace rdmajs {

// The positional arguments of one native method call.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* method) : info_(info), method_(method) {}

  Napi::Env Env() const { return info_.Env(); }
  size_t Length() const { return info_.Length(); }
  bool Has(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined() && !info_[i].IsNull(); }

  Napi::Object Object(size_t i, const char* name) const;
  Napi::Function Function(size_t i, const char* name) const;
  std::string String(size_t i, const char* name) const;
  bool Bool(size_t i, const char* name) const;
  uint32_t Uint32(size_t i, const char* name, uint32_t min = 0, uint32_t max = UINT32_MAX) const;
  int32_t Int32(size_t i, const char* name, int32_t min, int32_t max) const;

  // Unwraps a native object of class T (checked with instanceof), open.
  template <typename T>
  T* Wrapped(size_t i, const char* name) const {
    Napi::Value v = i < info_.Length() ? info_[i] : Env().Undefined();
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(T::Constructor(Env()))) {
      throw Napi::TypeError::New(Env(), Prefix() + name + " must be a " + KindName(T::kKind));
    }
    T* obj = T::Unwrap(v.As<Napi::Object>());
    obj->CheckOpen(Env(), method_);
    return obj;
  }

  [[noreturn]] void TypeError(const std::string& what) const;
  [[noreturn]] void RangeError(const std::string& what) const;

  const char* Method() const { return method_; }

 private:
  std::string Prefix() const { return std::string(method_) + ": "; }
  const Napi::CallbackInfo& info_;
  const char* method_;
};

// Reads optional numeric properties from an options object with range checks.
class Props {
 public:
  Props(Napi::Object obj, const char* method) : obj_(obj), method_(method) {}
  bool Has(const char* key) const;
  uint32_t Uint32(const char* key, uint32_t dflt, uint32_t min = 0, uint32_t max = UINT32_MAX) const;
  bool Bool(const char* key, bool dflt) const;
  uint64_t BigUint64(const char* key, uint64_t dflt) const;
  Napi::Value Get(const char* key) const { return obj_.Get(key); }
  Napi::Object Object(const char* key) const;  // throws unless an object

 private:
  [[noreturn]] void Fail(bool range, const std::string& what) const;
  Napi::Object obj_;
  const char* method_;
};

}  // namespace rdmajs
