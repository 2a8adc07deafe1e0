// RdmaError construction: message "<verb>: <strerror> (<CODE>)[: detail]"
// with code, errno and syscall properties, like Node's system errors.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace rdmajs {

Napi::Error MakeRdmaError(Napi::Env env, const char* verb, int err,
                          const std::string& detail = std::string());
[[noreturn]] void ThrowRdmaError(Napi::Env env, const char* verb, int err,
                                 const std::string& detail = std::string());

// A post the provider refused part-way through a chain: the error also
// carries `posted`, how many requests went through before it.
[[noreturn]] void ThrowRefusedPost(Napi::Env env, const char* verb, int err, uint32_t posted,
                                   const std::string& detail);

}  // namespace rdmajs
