#include "cm_id.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

#include "address_handle.h"
#include "cm_event_channel.h"

namespace rdmajs {

namespace {

// A numeric IPv4/IPv6 address and a port (names are resolved in TS).
bool ToSockaddr(const std::string& host, uint32_t port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    return true;
  }
  return false;
}

Napi::Value FromSockaddr(Napi::Env env, const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = {0};
  Napi::Object o = Napi::Object::New(env);
  if (sa == nullptr || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) return env.Null();
  if (sa->sa_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    o.Set("family", "IPv4");
    o.Set("port", ntohs(v4->sin_port));
  } else {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    o.Set("family", "IPv6");
    o.Set("port", ntohs(v6->sin6_port));
  }
  o.Set("address", text);
  return o;
}

// Reads { privateData?, responderResources?, initiatorDepth?, retryCount?,
// rnrRetryCount?, qpNum?, srq? } into conn; `limit` is the transport's cap.
void ReadConnParam(const Args& args, size_t i, size_t limit, rdma_conn_param* conn, std::string* storage) {
  std::memset(conn, 0, sizeof *conn);
  if (!args.Has(i)) return;
  Napi::Object o = args.Object(i, "params");
  Props p(o, args.Method());
  Napi::Value pd = o.Get("privateData");
  if (!pd.IsUndefined() && !pd.IsNull()) {
    if (!pd.IsTypedArray() || pd.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      args.TypeError("privateData must be a Buffer or Uint8Array");
    }
    auto bytes = pd.As<Napi::Uint8Array>();
    if (bytes.ElementLength() > limit) {
      args.RangeError("privateData is " + std::to_string(bytes.ElementLength()) + " bytes; at most " + std::to_string(limit));
    }
    storage->assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ElementLength());
    conn->private_data = storage->data();
    conn->private_data_len = static_cast<uint8_t>(storage->size());
  }
  conn->responder_resources = static_cast<uint8_t>(p.Uint32("responderResources", 1, 0, 255));
  conn->initiator_depth = static_cast<uint8_t>(p.Uint32("initiatorDepth", 1, 0, 255));
  conn->retry_count = static_cast<uint8_t>(p.Uint32("retryCount", 7, 0, 7));
  conn->rnr_retry_count = static_cast<uint8_t>(p.Uint32("rnrRetryCount", 7, 0, 7));
  conn->flow_control = 1;
  conn->qp_num = p.Uint32("qpNum", 0, 0, 0xffffff);
  conn->srq = p.Bool("srq", false) ? 1 : 0;
}

}  // namespace

Napi::Function CmId::Init(Napi::Env env) {
  return Define(env, {
      InstanceAccessor<&CmId::GetDevice>("device"),
      InstanceAccessor<&CmId::GetPort>("port"),
      InstanceAccessor<&CmId::GetLocalAddress>("localAddress"),
      InstanceAccessor<&CmId::GetRemoteAddress>("remoteAddress"),
      InstanceMethod<&CmId::BindAddr>("bindAddr"),
      InstanceMethod<&CmId::ResolveAddr>("resolveAddr"),
      InstanceMethod<&CmId::ResolveRoute>("resolveRoute"),
      InstanceMethod<&CmId::Listen>("listen"),
      InstanceMethod<&CmId::InitQpAttr>("initQpAttr"),
      InstanceMethod<&CmId::Connect>("connect"),
      InstanceMethod<&CmId::Accept>("accept"),
      InstanceMethod<&CmId::Reject>("reject"),
      InstanceMethod<&CmId::Establish>("establish"),
      InstanceMethod<&CmId::Disconnect>("disconnect"),
  });
}

CmId::CmId(const Napi::CallbackInfo& info) : Wrapped(info) {
  Args args(info, "rdma_create_id");
  CmEventChannel* channel = args.Wrapped<CmEventChannel>(0, "channel");
  if (args.Length() > 1 && info[1].IsExternal()) {
    id_ = info[1].As<Napi::External<rdma_cm_id>>().Data();  // an incoming connection's id
  } else {
    uint32_t ps = args.Uint32(1, "portSpace", 0, 0xffff);
    if (ps != RDMA_PS_TCP && ps != RDMA_PS_UDP) args.RangeError("portSpace must be TCP or UDP");
    int err = rdma_create_id(channel->Handle(), &id_, nullptr, static_cast<rdma_port_space>(ps));
    if (err != 0) ThrowRdmaError(info.Env(), "rdma_create_id", errno);
  }
  id_->context = this;
  // An id lives until closed, like a socket: events find it through
  // id->context, so it must not be collected while open.
  Ref();
  AttachTo(channel, info[0].As<Napi::Object>());
}

CmId::~CmId() { Close(); }

int CmId::Release() {
  if (id_ == nullptr) return 0;
  id_->context = nullptr;
  int err = rdma_destroy_id(id_) == 0 ? 0 : errno;
  id_ = nullptr;
  Unref();
  return err;
}

Napi::Value CmId::GetDevice(const Napi::CallbackInfo& info) {
  if (id_ == nullptr || id_->verbs == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), ibv_get_device_name(id_->verbs->device));
}

Napi::Value CmId::GetPort(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), id_ != nullptr ? id_->port_num : 0);
}

Napi::Value CmId::GetLocalAddress(const Napi::CallbackInfo& info) {
  return id_ != nullptr ? FromSockaddr(info.Env(), rdma_get_local_addr(id_)) : info.Env().Null();
}

Napi::Value CmId::GetRemoteAddress(const Napi::CallbackInfo& info) {
  return id_ != nullptr ? FromSockaddr(info.Env(), rdma_get_peer_addr(id_)) : info.Env().Null();
}

// bindAddr(host, port)
Napi::Value CmId::BindAddr(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_bind_addr");
  Args args(info, "rdma_bind_addr");
  std::string host = args.String(0, "host");
  uint32_t port = args.Uint32(1, "port", 0, 65535);
  sockaddr_storage sa;
  if (!ToSockaddr(host, port, &sa)) args.TypeError("host must be a numeric IPv4 or IPv6 address");
  if (rdma_bind_addr(id_, reinterpret_cast<sockaddr*>(&sa)) != 0) {
    ThrowRdmaError(info.Env(), "rdma_bind_addr", errno, host + ":" + std::to_string(port));
  }
  return info.Env().Undefined();
}

// resolveAddr(srcHost | null, dstHost, port, timeoutMs): ADDR_RESOLVED follows.
Napi::Value CmId::ResolveAddr(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_resolve_addr");
  Args args(info, "rdma_resolve_addr");
  sockaddr_storage src, dst;
  bool haveSrc = args.Has(0);
  if (haveSrc && !ToSockaddr(args.String(0, "source"), 0, &src)) args.TypeError("source must be a numeric IP address");
  std::string host = args.String(1, "host");
  uint32_t port = args.Uint32(2, "port", 1, 65535);
  if (!ToSockaddr(host, port, &dst)) args.TypeError("host must be a numeric IPv4 or IPv6 address");
  uint32_t timeout = args.Uint32(3, "timeoutMs", 1, INT32_MAX);
  if (rdma_resolve_addr(id_, haveSrc ? reinterpret_cast<sockaddr*>(&src) : nullptr, reinterpret_cast<sockaddr*>(&dst),
                        static_cast<int>(timeout)) != 0) {
    ThrowRdmaError(info.Env(), "rdma_resolve_addr", errno, host + ":" + std::to_string(port));
  }
  return info.Env().Undefined();
}

// resolveRoute(timeoutMs): ROUTE_RESOLVED follows.
Napi::Value CmId::ResolveRoute(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_resolve_route");
  Args args(info, "rdma_resolve_route");
  uint32_t timeout = args.Uint32(0, "timeoutMs", 1, INT32_MAX);
  if (rdma_resolve_route(id_, static_cast<int>(timeout)) != 0) ThrowRdmaError(info.Env(), "rdma_resolve_route", errno);
  return info.Env().Undefined();
}

Napi::Value CmId::Listen(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_listen");
  Args args(info, "rdma_listen");
  uint32_t backlog = args.Uint32(0, "backlog", 0, INT32_MAX);
  if (rdma_listen(id_, static_cast<int>(backlog)) != 0) ThrowRdmaError(info.Env(), "rdma_listen", errno);
  return info.Env().Undefined();
}

// initQpAttr(state): the attributes rdma_cm wants for moving our QP to
// `state` (an ibv_qp_state number), as a QueuePair.modify() attribute object.
Napi::Value CmId::InitQpAttr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "rdma_init_qp_attr");
  Args args(info, "rdma_init_qp_attr");
  ibv_qp_attr a{};
  a.qp_state = static_cast<ibv_qp_state>(args.Uint32(0, "state", IBV_QPS_INIT, IBV_QPS_RTS));
  int mask = 0;
  if (rdma_init_qp_attr(id_, &a, &mask) != 0) ThrowRdmaError(env, "rdma_init_qp_attr", errno);
  Napi::Object o = Napi::Object::New(env);
  if (mask & IBV_QP_STATE) o.Set("qpState", static_cast<uint32_t>(a.qp_state));
  if (mask & IBV_QP_PKEY_INDEX) o.Set("pkeyIndex", a.pkey_index);
  if (mask & IBV_QP_PORT) o.Set("portNum", a.port_num);
  if (mask & IBV_QP_ACCESS_FLAGS) o.Set("qpAccessFlags", static_cast<uint32_t>(a.qp_access_flags));
  if (mask & IBV_QP_QKEY) o.Set("qkey", a.qkey);
  if (mask & IBV_QP_PATH_MTU) o.Set("pathMtu", static_cast<uint32_t>(a.path_mtu));
  if (mask & IBV_QP_DEST_QPN) o.Set("destQpNum", a.dest_qp_num);
  if (mask & IBV_QP_RQ_PSN) o.Set("rqPsn", a.rq_psn);
  if (mask & IBV_QP_SQ_PSN) o.Set("sqPsn", a.sq_psn);
  if (mask & IBV_QP_MAX_DEST_RD_ATOMIC) o.Set("maxDestRdAtomic", a.max_dest_rd_atomic);
  if (mask & IBV_QP_MAX_QP_RD_ATOMIC) o.Set("maxRdAtomic", a.max_rd_atomic);
  if (mask & IBV_QP_MIN_RNR_TIMER) o.Set("minRnrTimer", a.min_rnr_timer);
  if (mask & IBV_QP_TIMEOUT) o.Set("timeout", a.timeout);
  if (mask & IBV_QP_RETRY_CNT) o.Set("retryCnt", a.retry_cnt);
  if (mask & IBV_QP_RNR_RETRY) o.Set("rnrRetry", a.rnr_retry);
  if (mask & IBV_QP_AV) o.Set("ahAttr", AhAttrToObject(env, a.ah_attr));
  return o;
}

// Private data caps: IB CM message sizes less rdma_cm's own header (36 bytes
// on REQ and SIDR REQ). UD ids use SIDR REQ/REP instead of REQ/REP/REJ.
constexpr size_t kConnectPrivateData = 56;
constexpr size_t kAcceptPrivateData = 196;
constexpr size_t kRejectPrivateData = 148;
constexpr size_t kUdConnectPrivateData = 180;
constexpr size_t kUdAcceptPrivateData = 136;
constexpr size_t kUdRejectPrivateData = 136;

Napi::Value CmId::Connect(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_connect");
  Args args(info, "rdma_connect");
  rdma_conn_param conn;
  std::string data;
  ReadConnParam(args, 0, id_->ps == RDMA_PS_UDP ? kUdConnectPrivateData : kConnectPrivateData, &conn, &data);
  if (rdma_connect(id_, &conn) != 0) ThrowRdmaError(info.Env(), "rdma_connect", errno);
  return info.Env().Undefined();
}

Napi::Value CmId::Accept(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_accept");
  Args args(info, "rdma_accept");
  rdma_conn_param conn;
  std::string data;
  ReadConnParam(args, 0, id_->ps == RDMA_PS_UDP ? kUdAcceptPrivateData : kAcceptPrivateData, &conn, &data);
  if (rdma_accept(id_, &conn) != 0) ThrowRdmaError(info.Env(), "rdma_accept", errno);
  return info.Env().Undefined();
}

// reject(privateData?: Uint8Array)
Napi::Value CmId::Reject(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_reject");
  Args args(info, "rdma_reject");
  const void* data = nullptr;
  size_t len = 0;
  if (args.Has(0)) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      args.TypeError("privateData must be a Buffer or Uint8Array");
    }
    auto bytes = info[0].As<Napi::Uint8Array>();
    size_t limit = id_->ps == RDMA_PS_UDP ? kUdRejectPrivateData : kRejectPrivateData;
    if (bytes.ElementLength() > limit) {
      args.RangeError("privateData is " + std::to_string(bytes.ElementLength()) + " bytes; at most " +
                      std::to_string(limit));
    }
    data = bytes.Data();
    len = bytes.ElementLength();
  }
  if (rdma_reject(id_, data, static_cast<uint8_t>(len)) != 0) ThrowRdmaError(info.Env(), "rdma_reject", errno);
  return info.Env().Undefined();
}

Napi::Value CmId::Establish(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_establish");
  if (rdma_establish(id_) != 0) ThrowRdmaError(info.Env(), "rdma_establish", errno);
  return info.Env().Undefined();
}

Napi::Value CmId::Disconnect(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "rdma_disconnect");
  if (rdma_disconnect(id_) != 0) ThrowRdmaError(info.Env(), "rdma_disconnect", errno);
  return info.Env().Undefined();
}

}  // namespace rdmajs
