// CompletionChannel: the fd on which CQ notifications arrive
// (ibv_comp_channel), watched by libuv so completions wake the event loop.
#pragma once

#include <infiniband/verbs.h>
#include <uv.h>

#include <vector>

#include "common.h"

namespace rdmajs {

class Context;
class CompletionQueue;

class CompletionChannel : public Napi::ObjectWrap<CompletionChannel>, public Resource {
 public:
  static constexpr const char* kTypeName = "CompletionChannel";
  static Napi::Function Init(Napi::Env env);

  explicit CompletionChannel(const Napi::CallbackInfo& info);
  ~CompletionChannel() override;

  ibv_comp_channel* Handle() const { return channel_; }
  Context* GetContext() const { return context_; }

  // Called by an armed CQ that wants its handler run, so the loop stays alive
  // only while somebody waits for a completion.
  void Retain();
  void Unretain();
  // A closing CQ must not be fired later in the same wake-up.
  void Forget(CompletionQueue* cq);

 protected:
  int Release() override;

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Drain();

  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);

  Napi::Env env_;
  ibv_comp_channel* channel_ = nullptr;
  Context* context_ = nullptr;
  uv_poll_t* poll_ = nullptr;  // freed in its close callback
  int retained_ = 0;
  std::vector<CompletionQueue*> fired_;  // reused: no allocation per wake-up
};

}  // namespace rdmajs
