#include "common.h"

#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace rdmajs {

AddonData* GetData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

void CloseUvHandle(Napi::Env env, uv_handle_t* handle) {
  AddonData* data = GetData(env);
  data->pendingCloses++;
  handle->data = data;
  uv_close(handle, [](uv_handle_t* h) {
    auto* d = static_cast<AddonData*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    if (--d->pendingCloses == 0 && d->teardown != nullptr) {
      napi_remove_async_cleanup_hook(d->teardown);
      d->teardown = nullptr;
    }
  });
}

int Resource::Close() {
  if (closed_) return 0;
  // Dependents remove themselves from dependents_ as they close.
  while (!dependents_.empty()) {
    auto it = std::min_element(dependents_.begin(), dependents_.end(), [](Resource* a, Resource* b) {
      return static_cast<int>(a->kind_) < static_cast<int>(b->kind_);
    });
    (*it)->Close();
  }
  int err = Release();
  closed_ = true;
  for (auto& parent : parents_) {
    parent.first->RemoveDependent(this);
    parent.second.Reset();
  }
  parents_.clear();
  return err;
}

void Resource::CheckOpen(Napi::Env env, const char* verb) const {
  if (closed_) ThrowRdmaError(env, verb, EBADF, std::string(typeName_) + " is closed");
}

void Resource::AttachTo(Resource* parent, Napi::Object parentObject) {
  parent->dependents_.push_back(this);
  parents_.emplace_back(parent, Napi::Persistent(parentObject));
}

void Resource::RemoveDependent(Resource* child) {
  auto it = std::find(dependents_.begin(), dependents_.end(), child);
  if (it != dependents_.end()) {
    *it = dependents_.back();
    dependents_.pop_back();
  }
}

Napi::Error MakeRdmaError(Napi::Env env, const char* verb, int err, const std::string& detail) {
  const char* code = err > 0 ? uv_err_name(-err) : "EUNKNOWN";
  std::string message = std::string(verb) + ": " + std::strerror(err) + " (" + code + ")";
  if (!detail.empty()) message += ": " + detail;

  AddonData* data = GetData(env);
  Napi::Object props = Napi::Object::New(env);
  props.Set("code", code);
  props.Set("errno", err);
  props.Set("syscall", verb);
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    Napi::Object e = data->errorClass.New({Napi::String::New(env, message), props});
    return Napi::Error(env, e);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", props.Get("code"));
  e.Set("errno", props.Get("errno"));
  e.Set("syscall", props.Get("syscall"));
  return e;
}

void ThrowRdmaError(Napi::Env env, const char* verb, int err, const std::string& detail) {
  throw MakeRdmaError(env, verb, err, detail);
}

void Args::TypeError(const std::string& what) const { throw Napi::TypeError::New(Env(), Prefix() + what); }
void Args::RangeError(const std::string& what) const { throw Napi::RangeError::New(Env(), Prefix() + what); }

Napi::Object Args::Object(size_t i, const char* name) const {
  if (i >= Length() || !info_[i].IsObject()) TypeError(std::string(name) + " must be an object");
  return info_[i].As<Napi::Object>();
}

Napi::Function Args::Function(size_t i, const char* name) const {
  if (i >= Length() || !info_[i].IsFunction()) TypeError(std::string(name) + " must be a function");
  return info_[i].As<Napi::Function>();
}

std::string Args::String(size_t i, const char* name) const {
  if (i >= Length() || !info_[i].IsString()) TypeError(std::string(name) + " must be a string");
  return info_[i].As<Napi::String>().Utf8Value();
}

bool Args::Bool(size_t i, const char* name) const {
  if (i >= Length() || !info_[i].IsBoolean()) TypeError(std::string(name) + " must be a boolean");
  return info_[i].As<Napi::Boolean>().Value();
}

static bool IsInteger(double d) { return std::isfinite(d) && std::trunc(d) == d; }

uint32_t Args::Uint32(size_t i, const char* name, uint32_t min, uint32_t max) const {
  if (i >= Length() || !info_[i].IsNumber()) TypeError(std::string(name) + " must be a number");
  double d = info_[i].As<Napi::Number>().DoubleValue();
  if (!IsInteger(d) || d < min || d > max) {
    RangeError(std::string(name) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
               "], got " + info_[i].ToString().Utf8Value());
  }
  return static_cast<uint32_t>(d);
}

int32_t Args::Int32(size_t i, const char* name, int32_t min, int32_t max) const {
  if (i >= Length() || !info_[i].IsNumber()) TypeError(std::string(name) + " must be a number");
  double d = info_[i].As<Napi::Number>().DoubleValue();
  if (!IsInteger(d) || d < min || d > max) {
    RangeError(std::string(name) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int32_t>(d);
}

void Props::Fail(bool range, const std::string& what) const {
  std::string msg = std::string(method_) + ": " + what;
  if (range) throw Napi::RangeError::New(obj_.Env(), msg);
  throw Napi::TypeError::New(obj_.Env(), msg);
}

bool Props::Has(const char* key) const {
  Napi::Value v = obj_.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

uint32_t Props::Uint32(const char* key, uint32_t dflt, uint32_t min, uint32_t max) const {
  Napi::Value v = obj_.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsNumber()) Fail(false, std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!IsInteger(d) || d < min || d > max) {
    Fail(true, std::string(key) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                   "], got " + v.ToString().Utf8Value());
  }
  return static_cast<uint32_t>(d);
}

bool Props::Bool(const char* key, bool dflt) const {
  Napi::Value v = obj_.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsBoolean()) Fail(false, std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

uint64_t Props::BigUint64(const char* key, uint64_t dflt) const {
  Napi::Value v = obj_.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!IsInteger(d) || d < 0 || d > 9007199254740991.0) Fail(true, std::string(key) + " must be a safe non-negative integer");
    return static_cast<uint64_t>(d);
  }
  if (!v.IsBigInt()) Fail(false, std::string(key) + " must be a bigint");
  bool lossless = false;
  uint64_t out = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) Fail(true, std::string(key) + " must fit in 64 unsigned bits");
  return out;
}

Napi::Object Props::Object(const char* key) const {
  Napi::Value v = obj_.Get(key);
  if (!v.IsObject()) Fail(false, std::string(key) + " must be an object");
  return v.As<Napi::Object>();
}

Napi::Value GidToBuffer(Napi::Env env, const uint8_t raw[16]) { return Napi::Buffer<uint8_t>::Copy(env, raw, 16); }

void BufferToGid(const Args& args, Napi::Value v, const char* name, uint8_t out[16]) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    args.TypeError(std::string(name) + " must be a 16-byte Buffer or Uint8Array");
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  if (a.ElementLength() != 16) args.RangeError(std::string(name) + " must be exactly 16 bytes");
  std::memcpy(out, a.Data(), 16);
}

}  // namespace rdmajs
