#include "async_events.h"

#include <cerrno>

#include "context.h"

namespace rdmajs {

namespace {

const char* EventName(ibv_event_type t) {
  switch (t) {
    case IBV_EVENT_CQ_ERR: return "CQ_ERR";
    case IBV_EVENT_QP_FATAL: return "QP_FATAL";
    case IBV_EVENT_QP_REQ_ERR: return "QP_REQ_ERR";
    case IBV_EVENT_QP_ACCESS_ERR: return "QP_ACCESS_ERR";
    case IBV_EVENT_COMM_EST: return "COMM_EST";
    case IBV_EVENT_SQ_DRAINED: return "SQ_DRAINED";
    case IBV_EVENT_PATH_MIG: return "PATH_MIG";
    case IBV_EVENT_PATH_MIG_ERR: return "PATH_MIG_ERR";
    case IBV_EVENT_DEVICE_FATAL: return "DEVICE_FATAL";
    case IBV_EVENT_PORT_ACTIVE: return "PORT_ACTIVE";
    case IBV_EVENT_PORT_ERR: return "PORT_ERR";
    case IBV_EVENT_LID_CHANGE: return "LID_CHANGE";
    case IBV_EVENT_PKEY_CHANGE: return "PKEY_CHANGE";
    case IBV_EVENT_SM_CHANGE: return "SM_CHANGE";
    case IBV_EVENT_SRQ_ERR: return "SRQ_ERR";
    case IBV_EVENT_SRQ_LIMIT_REACHED: return "SRQ_LIMIT_REACHED";
    case IBV_EVENT_QP_LAST_WQE_REACHED: return "QP_LAST_WQE_REACHED";
    case IBV_EVENT_CLIENT_REREGISTER: return "CLIENT_REREGISTER";
    case IBV_EVENT_GID_CHANGE: return "GID_CHANGE";
    case IBV_EVENT_WQ_FATAL: return "WQ_FATAL";
    default: return "UNKNOWN";
  }
}

bool IsQpEvent(ibv_event_type t) {
  switch (t) {
    case IBV_EVENT_QP_FATAL:
    case IBV_EVENT_QP_REQ_ERR:
    case IBV_EVENT_QP_ACCESS_ERR:
    case IBV_EVENT_COMM_EST:
    case IBV_EVENT_SQ_DRAINED:
    case IBV_EVENT_PATH_MIG:
    case IBV_EVENT_PATH_MIG_ERR:
    case IBV_EVENT_QP_LAST_WQE_REACHED:
      return true;
    default:
      return false;
  }
}

bool IsPortEvent(ibv_event_type t) {
  switch (t) {
    case IBV_EVENT_PORT_ACTIVE:
    case IBV_EVENT_PORT_ERR:
    case IBV_EVENT_LID_CHANGE:
    case IBV_EVENT_PKEY_CHANGE:
    case IBV_EVENT_SM_CHANGE:
    case IBV_EVENT_CLIENT_REREGISTER:
    case IBV_EVENT_GID_CHANGE:
      return true;
    default:
      return false;
  }
}

constexpr uint32_t kNone = UINT32_MAX;

}  // namespace

AsyncEvents::AsyncEvents(Napi::Env env, ibv_context* ctx, Context* owner) : env_(env), ctx_(ctx), owner_(owner) {
  watcher_.Start(env_, ctx_->async_fd, "the async event fd", OnReadable, this);
  pending_.reserve(8);
}

void AsyncEvents::SetHandler(Napi::Function handler) {
  if (handler.IsEmpty()) {
    handler_.Reset();
  } else {
    handler_ = Napi::Persistent(handler);
  }
}

void AsyncEvents::Stop() {
  watcher_.Stop();
  handler_.Reset();
}

void AsyncEvents::OnReadable(void* owner, int status) {
  auto* self = static_cast<AsyncEvents*>(owner);
  if (status < 0) {
    // The fd is in error (e.g. the device was removed): stop rather than spin.
    self->watcher_.Pause();
    return;
  }
  self->Drain();
  self->Dispatch();
}

// Reads every queued event, copying what JS needs and acking each at once:
// ibv_destroy_qp/cq/srq wait for the acks of events already read.
void AsyncEvents::Drain() {
  pending_.clear();
  for (;;) {
    ibv_async_event ev;
    if (ibv_get_async_event(ctx_, &ev) != 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) watcher_.Pause();
      break;
    }
    Event e{ev.event_type, kNone, kNone};
    // element.qp is the ibv_qp this addon created on this context; it cannot
    // be destroyed before the ack below. CQ/SRQ/WQ elements are not read.
    if (IsQpEvent(ev.event_type) && ev.element.qp != nullptr) e.qpNum = ev.element.qp->qp_num;
    if (IsPortEvent(ev.event_type)) e.port = static_cast<uint32_t>(ev.element.port_num);
    ibv_ack_async_event(&ev);
    pending_.push_back(e);
  }
}

void AsyncEvents::Dispatch() {
  if (pending_.empty() || handler_.IsEmpty()) return;
  // Runs from libuv with no JS frame above: nothing may escape as a C++
  // exception (a terminating worker makes every napi call fail).
  Napi::HandleScope scope(env_);  // outside the try: the catch needs handles too
  try {
    Napi::Object recv = owner_->Value();
    if (recv.IsEmpty()) return;  // the Context object is being collected
    for (const Event& e : pending_) {
      // A handler may close the context (Stop() clears the handler): drop the rest.
      if (!watcher_.Active() || handler_.IsEmpty()) break;
      Napi::Object o = Napi::Object::New(env_);
      o.Set("type", EventName(e.type));
      if (e.qpNum != kNone) o.Set("qpNum", e.qpNum);
      if (e.port != kNone) o.Set("port", e.port);
      handler_.MakeCallback(recv, {o});
    }
  } catch (const Napi::Error& err) {
    // A listener threw: surface it like any uncaught JS error.
    napi_fatal_exception(env_, err.Value());
  }
  pending_.clear();
}

}  // namespace rdmajs
