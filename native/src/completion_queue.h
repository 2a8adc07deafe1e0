// CompletionQueue: where work completions land (ibv_cq). Polled into
// caller-owned typed arrays; optionally tied to a CompletionChannel.
#pragma once

#include <infiniband/verbs.h>

#include <v8.h>

#include <memory>
#include <unordered_map>

#include "layouts.h"
#include "util/wrapped.h"

namespace rdmajs {

class Context;
class CompletionChannel;
class QueuePair;

// Each completion is written into the bound batch as WcField (layouts.h) records.

// Longest spin one poll(max, spinUs) call may do: 10 s.
constexpr uint32_t kMaxSpinUs = 10000000;

class CompletionQueue : public Wrapped<CompletionQueue> {
 public:
  static constexpr Kind kKind = Kind::CompletionQueue;
  static Napi::Function Init(Napi::Env env);

  explicit CompletionQueue(const Napi::CallbackInfo& info);
  ~CompletionQueue() override;

  ibv_cq* Handle() const { return cq_; }
  Context* GetContext() const { return context_; }

  // From the channel: one event read for this CQ; then run the JS handler.
  void NoteEvent();
  void Fire();

  // QPs completing here, by number, to translate wr_ids back (work_tracker.h).
  void Attach(QueuePair* qp);
  void Detach(QueuePair* qp);

 protected:
  int Release() override;

 private:
  Napi::Value GetSize(const Napi::CallbackInfo& info);
  Napi::Value BindBatch(const Napi::CallbackInfo& info);
  Napi::Value Poll(const Napi::CallbackInfo& info);
  Napi::Value RequestNotify(const Napi::CallbackInfo& info);
  Napi::Value Arm(const Napi::CallbackInfo& info);
  Napi::Value SetHandler(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  void AckAll();
  // Polls up to `max` completions into the bound batch; returns how many.
  uint32_t Drain(Napi::Env env, uint32_t max);

  Napi::Env env_;
  ibv_cq* cq_ = nullptr;
  Context* context_ = nullptr;
  CompletionChannel* channel_ = nullptr;
  Napi::FunctionReference handler_;
  uint32_t unacked_ = 0;
  // The caller's batch arrays, bound once so a poll reads no arguments but
  // the count; the backing stores keep them valid even if detached.
  std::shared_ptr<v8::BackingStore> idStore_, fieldStore_;
  uint64_t* ids_ = nullptr;
  uint32_t* fields_ = nullptr;
  uint32_t capacity_ = 0;
  std::unordered_map<uint32_t, QueuePair*> qps_;
  uint32_t lastQpn_ = UINT32_MAX;  // one-entry cache: most CQs serve one QP
  QueuePair* lastQp_ = nullptr;
  bool refed_ = false;
};

}  // namespace rdmajs
