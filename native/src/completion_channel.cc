#include "completion_channel.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "completion_queue.h"
#include "context.h"

namespace rdmajs {

Napi::Function CompletionChannel::Init(Napi::Env env) {
  return DefineClass(env, "CompletionChannel",
                     {
                         InstanceAccessor<&CompletionChannel::GetClosed>("closed"),
                         InstanceAccessor<&CompletionChannel::GetFd>("fd"),
                         InstanceMethod<&CompletionChannel::CloseJs>("close"),
                     });
}

CompletionChannel::CompletionChannel(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CompletionChannel>(info), Resource(Kind::CompletionChannel, kTypeName), env_(info.Env()) {
  Args args(info, "ibv_create_comp_channel");
  context_ = args.Wrapped<Context>(0, "context", GetData(env_)->contextCtor);

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env_, &loop) != napi_ok) throw Napi::Error::New(env_, "no libuv loop");

  channel_ = ibv_create_comp_channel(context_->Handle());
  if (channel_ == nullptr) ThrowRdmaError(env_, "ibv_create_comp_channel", errno ? errno : ENOMEM);
  // Non-blocking so Drain() can read until EAGAIN.
  int flags = fcntl(channel_->fd, F_GETFL);
  if (flags < 0 || fcntl(channel_->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    int err = errno;
    ibv_destroy_comp_channel(channel_);
    ThrowRdmaError(env_, "fcntl", err, "making the completion channel non-blocking");
  }
  poll_ = new uv_poll_t;
  int err = uv_poll_init(loop, poll_, channel_->fd);
  if (err == 0) err = uv_poll_start(poll_, UV_READABLE, OnReadable);
  if (err != 0) {
    delete poll_;
    ibv_destroy_comp_channel(channel_);
    ThrowRdmaError(env_, "uv_poll_start", -err);
  }
  poll_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  fired_.reserve(16);
  AttachTo(context_, info[0].As<Napi::Object>());
}

CompletionChannel::~CompletionChannel() { Close(); }

void CompletionChannel::Retain() {
  if (retained_++ == 0 && poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
}

void CompletionChannel::Unretain() {
  if (retained_ > 0 && --retained_ == 0 && poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

void CompletionChannel::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<CompletionChannel*>(handle->data);
  if (self == nullptr || self->IsClosed()) return;
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
  if (poll_ != nullptr) {
    CloseUvHandle(env_, reinterpret_cast<uv_handle_t*>(poll_));
    poll_ = nullptr;
  }
  int err = ibv_destroy_comp_channel(channel_);
  channel_ = nullptr;
  return err == 0 ? 0 : errno;
}

Napi::Value CompletionChannel::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), IsClosed());
}

Napi::Value CompletionChannel::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), channel_ != nullptr ? channel_->fd : -1);
}

Napi::Value CompletionChannel::CloseJs(const Napi::CallbackInfo& info) {
  int err = Close();
  if (err != 0) ThrowRdmaError(info.Env(), "ibv_destroy_comp_channel", err);
  return info.Env().Undefined();
}

}  // namespace rdmajs
