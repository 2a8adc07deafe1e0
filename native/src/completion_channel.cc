#include "completion_channel.h"

#include <algorithm>
#include <cerrno>

#include "completion_queue.h"
#include "context.h"

namespace rdmajs {

Napi::Function CompletionChannel::Init(Napi::Env env) {
  return Define(env, {
      InstanceAccessor<&CompletionChannel::GetFd>("fd"),
  });
}

CompletionChannel::CompletionChannel(const Napi::CallbackInfo& info)
    : Wrapped(info), env_(info.Env()) {
  Args args(info, "ibv_create_comp_channel");
  context_ = args.Wrapped<Context>(0, "context");
  channel_ = ibv_create_comp_channel(context_->Handle());
  if (channel_ == nullptr) ThrowRdmaError(env_, "ibv_create_comp_channel", errno ? errno : ENOMEM);
  try {
    watcher_.Start(env_, channel_->fd, "the completion channel", OnReadable, this);
  } catch (...) {
    ibv_destroy_comp_channel(channel_);
    channel_ = nullptr;
    throw;
  }
  fired_.reserve(16);
  AttachTo(context_, info[0].As<Napi::Object>());
}

CompletionChannel::~CompletionChannel() { Close(); }

void CompletionChannel::Retain() {
  if (retained_++ == 0) watcher_.SetRef(true);
}

void CompletionChannel::Unretain() {
  if (retained_ > 0 && --retained_ == 0) watcher_.SetRef(false);
}

void CompletionChannel::OnReadable(void* owner, int status) {
  auto* self = static_cast<CompletionChannel*>(owner);
  if (self->IsClosed()) return;
  self->Drain();
}

// Reads every pending CQ event (several CQs may share a channel), then runs
// each fired CQ's handler once. Acks are batched inside the CQ.
void CompletionChannel::Drain() {
  fired_.clear();
  for (;;) {
    ibv_cq* cq = nullptr;
    void* cqContext = nullptr;
    if (ibv_get_cq_event(channel_, &cq, &cqContext) != 0) break;  // EAGAIN: drained
    auto* owner = static_cast<CompletionQueue*>(cqContext);
    if (owner == nullptr) continue;
    owner->NoteEvent();
    if (std::find(fired_.begin(), fired_.end(), owner) == fired_.end()) fired_.push_back(owner);
  }
  if (fired_.empty()) return;
  try {
    Napi::HandleScope scope(env_);
    for (size_t i = 0; i < fired_.size(); i++) {
      // A handler may close other CQs on this channel; Forget() nulls them.
      if (fired_[i] != nullptr) fired_[i]->Fire();
    }
  } catch (const Napi::Error&) {
    // The environment is going away (no JS can run): nothing to deliver to.
  }
  fired_.clear();
}

void CompletionChannel::Forget(CompletionQueue* cq) {
  std::replace(fired_.begin(), fired_.end(), cq, static_cast<CompletionQueue*>(nullptr));
}

int CompletionChannel::Release() {
  if (channel_ == nullptr) return 0;
  watcher_.Stop();
  int err = ibv_destroy_comp_channel(channel_);
  channel_ = nullptr;
  return err == 0 ? 0 : errno;
}

Napi::Value CompletionChannel::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), channel_ != nullptr ? channel_->fd : -1);
}

}  // namespace rdmajs
