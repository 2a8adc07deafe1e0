#include "cm_event_channel.h"

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
  return Define(env, {
      InstanceMethod<&CmEventChannel::SetHandler>("setHandler"),
      InstanceMethod<&CmEventChannel::SetRef>("setRef"),
  });
}

CmEventChannel::CmEventChannel(const Napi::CallbackInfo& info) : Wrapped(info), env_(info.Env()) {
  channel_ = rdma_create_event_channel();
  if (channel_ == nullptr) ThrowRdmaError(env_, "rdma_create_event_channel", errno ? errno : ENODEV);
  try {
    watcher_.Start(env_, channel_->fd, "the rdma_cm event channel", OnReadable, this);
  } catch (...) {
    rdma_destroy_event_channel(channel_);
    channel_ = nullptr;
    throw;
  }
  GetData(env_)->cmChannels.insert(this);
}

CmEventChannel::~CmEventChannel() { Close(); }

void CmEventChannel::OnReadable(void* owner, int status) {
  auto* self = static_cast<CmEventChannel*>(owner);
  if (!self->IsClosed()) self->Drain();
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
        idObj = CmId::Constructor(env_).New({Value(), Napi::External<rdma_cm_id>::New(env_, e.id)});
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
  watcher_.Stop();
  rdma_destroy_event_channel(channel_);
  channel_ = nullptr;
  handler_.Reset();
  return 0;
}

Napi::Value CmEventChannel::SetHandler(const Napi::CallbackInfo& info) {
  Args args(info, "CmEventChannel.setHandler");
  CheckOpen(info.Env(), "CmEventChannel.setHandler");
  handler_ = Napi::Persistent(args.Function(0, "handler"));
  return info.Env().Undefined();
}

// setRef(bool): keep the loop alive (a listener or a pending connect does).
Napi::Value CmEventChannel::SetRef(const Napi::CallbackInfo& info) {
  Args args(info, "CmEventChannel.setRef");
  watcher_.SetRef(args.Bool(0, "ref"));
  return info.Env().Undefined();
}

}  // namespace rdmajs
