#include "cm_event_channel.h"

#include <fcntl.h>

#include <cerrno>
#include <string>
#include <vector>

#include "address_handle.h"
#include "cm_id.h"

namespace rdmajs {

namespace {

// One event, copied out of librdmacm so it can be acked before JS runs
// (rdma_destroy_id waits for the acks of its events).
struct CmEvent {
  rdma_cm_id* id;
  rdma_cm_id* listenId;
  rdma_cm_event_type type;
  int status;
  std::string privateData;
  // UD (SIDR) reply on the connecting side: where the listener's QP is.
  bool ud;
  ibv_ah_attr ah;
  uint32_t qpNum;
  uint32_t qkey;
};

std::string EventName(rdma_cm_event_type t) {
  std::string s = rdma_event_str(t);  // "RDMA_CM_EVENT_ESTABLISHED"
  const std::string prefix = "RDMA_CM_EVENT_";
  return s.compare(0, prefix.size(), prefix) == 0 ? s.substr(prefix.size()) : s;
}

}  // namespace

Napi::Function CmEventChannel::Init(Napi::Env env) {
  return DefineClass(env, "CmEventChannel",
                     {
                         InstanceAccessor<&CmEventChannel::GetClosed>("closed"),
                         InstanceMethod<&CmEventChannel::SetHandler>("setHandler"),
                         InstanceMethod<&CmEventChannel::SetRef>("setRef"),
                         InstanceMethod<&CmEventChannel::CloseJs>("close"),
                     });
}

CmEventChannel::CmEventChannel(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CmEventChannel>(info), Resource(Kind::CmEventChannel, kTypeName), env_(info.Env()) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env_, &loop) != napi_ok) throw Napi::Error::New(env_, "no libuv loop");
  channel_ = rdma_create_event_channel();
  if (channel_ == nullptr) ThrowRdmaError(env_, "rdma_create_event_channel", errno ? errno : ENODEV);
  int flags = fcntl(channel_->fd, F_GETFL);
  if (flags < 0 || fcntl(channel_->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    int err = errno;
    rdma_destroy_event_channel(channel_);
    ThrowRdmaError(env_, "fcntl", err, "making the rdma_cm event channel non-blocking");
  }
  poll_ = new uv_poll_t;
  int err = uv_poll_init(loop, poll_, channel_->fd);
  if (err == 0) err = uv_poll_start(poll_, UV_READABLE, OnReadable);
  if (err != 0) {
    delete poll_;
    rdma_destroy_event_channel(channel_);
    ThrowRdmaError(env_, "uv_poll_start", -err);
  }
  poll_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  GetData(env_)->cmChannels.insert(this);
}

CmEventChannel::~CmEventChannel() { Close(); }

void CmEventChannel::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<CmEventChannel*>(handle->data);
  if (self != nullptr && !self->IsClosed()) self->Drain();
}

// Reads and acks every pending event, then hands each to the JS handler as
// handler(id, { type, status, privateData, listener?, ud? }).
void CmEventChannel::Drain() {
  std::vector<CmEvent> events;
  for (;;) {
    rdma_cm_event* ev = nullptr;
    if (rdma_get_cm_event(channel_, &ev) != 0) break;  // EAGAIN: drained
    CmEvent e{ev->id, ev->listen_id, ev->event, ev->status, std::string(), false, {}, 0, 0};
    // param is a union; conn and ud both start with private_data/_len.
    const rdma_conn_param& conn = ev->param.conn;
    if (conn.private_data != nullptr && conn.private_data_len > 0) {
      e.privateData.assign(static_cast<const char*>(conn.private_data), conn.private_data_len);
    }
    if (ev->event == RDMA_CM_EVENT_ESTABLISHED && ev->id->ps == RDMA_PS_UDP) {
      e.ud = true;
      e.ah = ev->param.ud.ah_attr;
      e.qpNum = ev->param.ud.qp_num;
      e.qkey = ev->param.ud.qkey;
    }
    rdma_ack_cm_event(ev);
    events.push_back(std::move(e));
  }
  if (events.empty()) return;

  AddonData* data = GetData(env_);
  Napi::HandleScope scope(env_);
  for (CmEvent& e : events) {
    if (IsClosed()) {
      // Closed by a handler: incoming ids not yet wrapped are refused.
      if (e.type == RDMA_CM_EVENT_CONNECT_REQUEST) rdma_destroy_id(e.id);
      continue;
    }
    try {
      Napi::Object idObj;
      Napi::Value listener = env_.Undefined();
      if (e.type == RDMA_CM_EVENT_CONNECT_REQUEST) {
        // A new id for the incoming connection: wrap it (it joins this channel).
        idObj = data->cmIdCtor.New({Value(), Napi::External<rdma_cm_id>::New(env_, e.id)});
        auto* listen = static_cast<CmId*>(e.listenId->context);
        if (listen != nullptr) listener = listen->Value();
      } else {
        auto* owner = static_cast<CmId*>(e.id->context);
        if (owner == nullptr || owner->IsClosed()) continue;
        idObj = owner->Value();
      }
      if (handler_.IsEmpty()) continue;
      Napi::Object o = Napi::Object::New(env_);
      o.Set("type", EventName(e.type));
      o.Set("status", e.status);
      o.Set("privateData", Napi::Buffer<char>::Copy(env_, e.privateData.data(), e.privateData.size()));
      o.Set("listener", listener);
      if (e.ud) {
        Napi::Object ud = Napi::Object::New(env_);
        ud.Set("ahAttr", AhAttrToObject(env_, e.ah));
        ud.Set("qpNum", e.qpNum);
        ud.Set("qkey", e.qkey);
        o.Set("ud", ud);
      }
      handler_.MakeCallback(Value(), {idObj, o});
    } catch (const Napi::Error& err) {
      // A handler threw (or the environment is going away).
      napi_fatal_exception(env_, err.Value());
    }
  }
}

int CmEventChannel::Release() {
  if (channel_ == nullptr) return 0;
  GetData(env_)->cmChannels.erase(this);
  if (poll_ != nullptr) {
    CloseUvHandle(env_, reinterpret_cast<uv_handle_t*>(poll_));
    poll_ = nullptr;
  }
  rdma_destroy_event_channel(channel_);
  channel_ = nullptr;
  handler_.Reset();
  return 0;
}

Napi::Value CmEventChannel::GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), IsClosed()); }

Napi::Value CmEventChannel::SetHandler(const Napi::CallbackInfo& info) {
  Args args(info, "CmEventChannel.setHandler");
  CheckOpen(info.Env(), "CmEventChannel.setHandler");
  handler_ = Napi::Persistent(args.Function(0, "handler"));
  return info.Env().Undefined();
}

// setRef(bool): keep the loop alive (a listener or a pending connect does).
Napi::Value CmEventChannel::SetRef(const Napi::CallbackInfo& info) {
  Args args(info, "CmEventChannel.setRef");
  bool ref = args.Bool(0, "ref");
  if (poll_ != nullptr) {
    if (ref) {
      uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    } else {
      uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
  }
  return info.Env().Undefined();
}

Napi::Value CmEventChannel::CloseJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

}  // namespace rdmajs
