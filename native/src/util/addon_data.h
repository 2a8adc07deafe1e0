// Per-environment state of the addon (worker threads each get their own).
#pragma once

#include <napi.h>

#include <unordered_set>

#include "resource.h"

namespace rdmajs {

class Context;

struct AddonData {
  Napi::FunctionReference errorClass;  // RdmaError from the TS layer, if set
  Napi::FunctionReference ctors[kKindCount];  // each wrapper class, by its Kind
  std::unordered_set<Context*> contexts;  // open contexts, closed at env teardown
  std::unordered_set<Resource*> cmChannels;  // open rdma_cm channels, likewise
  // libuv handles being closed. Teardown is an async cleanup hook that Node
  // waits for, so no close callback (our code) runs after the addon is
  // unloaded (a worker exiting unloads it).
  int pendingCloses = 0;
  napi_async_cleanup_hook_handle teardown = nullptr;
};

inline AddonData* GetData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

}  // namespace rdmajs
