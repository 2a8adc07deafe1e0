#include "errors.h"

#include <uv.h>

#include <cerrno>
#include <cstring>

#include "addon_data.h"

namespace rdmajs {

namespace {

// libuv names errno 95 ENOTSUP; the verbs man pages (and our docs) say
// EOPNOTSUPP, the same value on Linux.
const char* ErrName(int err) {
  if (err == EOPNOTSUPP) return "EOPNOTSUPP";
  return err > 0 ? uv_err_name(-err) : "EUNKNOWN";
}

}  // namespace

Napi::Error MakeRdmaError(Napi::Env env, const char* verb, int err, const std::string& detail) {
  const char* code = ErrName(err);
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

void ThrowRefusedPost(Napi::Env env, const char* verb, int err, uint32_t posted, const std::string& detail) {
  Napi::Error e = MakeRdmaError(env, verb, err, detail);
  e.Set("posted", Napi::Number::New(env, posted));
  throw e;
}

}  // namespace rdmajs
