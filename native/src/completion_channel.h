// CompletionChannel: the fd on which CQ notifications arrive
// (ibv_comp_channel), watched by libuv so completions wake the event loop.
#pragma once

#include <infiniband/verbs.h>

#include <vector>

#include "util/fd_watcher.h"
#include "util/wrapped.h"

namespace rdmajs {

class Context;
class CompletionQueue;

class CompletionChannel : public Wrapped<CompletionChannel> {
 public:
  static constexpr Kind kKind = Kind::CompletionChannel;
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
  static void OnReadable(void* owner, int status);
  void Drain();

  Napi::Value GetFd(const Napi::CallbackInfo& info);

  Napi::Env env_;
  ibv_comp_channel* channel_ = nullptr;
  Context* context_ = nullptr;
  FdWatcher watcher_;
  int retained_ = 0;
  std::vector<CompletionQueue*> fired_;  // reused: no allocation per wake-up
};

}  // namespace rdmajs
