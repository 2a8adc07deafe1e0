#include "args.h"

#include <cmath>

namespace rdmajs {

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

}  // namespace rdmajs
