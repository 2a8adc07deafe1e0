#include "gid.h"

#include <cstring>
#include <string>

namespace rdmajs {

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
