// A 16-byte GID as a Buffer, and back.
#pragma once

#include <napi.h>

#include <cstdint>

#include "args.h"

namespace rdmajs {

Napi::Value GidToBuffer(Napi::Env env, const uint8_t raw[16]);
// Throws (via args) unless v is a 16-byte Buffer or Uint8Array.
void BufferToGid(const Args& args, Napi::Value v, const char* name, uint8_t out[16]);

}  // namespace rdmajs
