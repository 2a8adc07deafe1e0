#include "queue_pair.h"

#include <cerrno>
#include <cstring>

#include "address_handle.h"
#include "completion_queue.h"
#include "memory_region.h"
#include "protection_domain.h"
#include "shared_receive_queue.h"
#include "v8_bridge.h"

namespace rdmajs {

namespace {

const char* StateName(ibv_qp_state s) {
  switch (s) {
    case IBV_QPS_RESET: return "RESET";
    case IBV_QPS_INIT: return "INIT";
    case IBV_QPS_RTR: return "RTR";
    case IBV_QPS_RTS: return "RTS";
    case IBV_QPS_SQD: return "SQD";
    case IBV_QPS_SQE: return "SQE";
    case IBV_QPS_ERR: return "ERR";
    default: return "UNKNOWN";
  }
}

Napi::Object CapToObject(Napi::Env env, const ibv_qp_cap& cap) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("maxSendWr", cap.max_send_wr);
  o.Set("maxRecvWr", cap.max_recv_wr);
  o.Set("maxSendSge", cap.max_send_sge);
  o.Set("maxRecvSge", cap.max_recv_sge);
  o.Set("maxInlineData", cap.max_inline_data);
  return o;
}

}  // namespace

Napi::Function QueuePair::Init(Napi::Env env) {
  return Define(env, {
      InstanceAccessor<&QueuePair::GetQpn>("qpn"),
      InstanceAccessor<&QueuePair::GetState>("state"),
      InstanceAccessor<&QueuePair::GetCap>("cap"),
      InstanceAccessor<&QueuePair::GetOutstanding>("outstanding"),
      InstanceMethod<&QueuePair::Modify>("modify"),
      InstanceMethod<&QueuePair::Query>("query"),
      InstanceMethod<&QueuePair::BindDescriptors>("bindDescriptors"),
      InstanceMethod<&QueuePair::BindSendBank>("bindSendBank"),
      InstanceMethod<&QueuePair::UnbindSendBank>("unbindSendBank"),
      InstanceMethod<&QueuePair::PostSend>("postSend"),
      InstanceMethod<&QueuePair::PostRecv>("postRecv"),
  });
}

// new QueuePair(pd, { type, sendCq, recvCq, srq?, maxSendWr, maxRecvWr,
//                     maxSendSge, maxRecvSge, maxInlineData, sqSigAll })
QueuePair::QueuePair(const Napi::CallbackInfo& info) : Wrapped(info), env_(info.Env()) {
  Args args(info, "ibv_create_qp");
  pd_ = args.Wrapped<ProtectionDomain>(0, "pd");
  Napi::Object opts = args.Object(1, "options");
  Props p(opts, "ibv_create_qp");

  uint32_t type = p.Uint32("type", IBV_QPT_RC);
  if (type != IBV_QPT_RC && type != IBV_QPT_UC && type != IBV_QPT_UD) {
    throw Napi::RangeError::New(env_, "ibv_create_qp: type must be RC, UC or UD");
  }
  auto unwrap = [&](Napi::Value v, const char* name, Napi::Function ctor) -> Napi::Object {
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor)) {
      throw Napi::TypeError::New(env_, std::string("ibv_create_qp: ") + name + " has the wrong type");
    }
    return v.As<Napi::Object>();
  };
  Napi::Object sendCqObj = unwrap(opts.Get("sendCq"), "sendCq", CompletionQueue::Constructor(env_));
  Napi::Object recvCqObj = unwrap(opts.Get("recvCq"), "recvCq", CompletionQueue::Constructor(env_));
  sendCq_ = CompletionQueue::Unwrap(sendCqObj);
  recvCq_ = CompletionQueue::Unwrap(recvCqObj);
  for (CompletionQueue* cq : {sendCq_, recvCq_}) {
    cq->CheckOpen(env_, "ibv_create_qp");
    if (cq->GetContext() != pd_->GetContext()) {
      throw Napi::TypeError::New(env_, "ibv_create_qp: a CQ belongs to another device context");
    }
  }
  Napi::Object srqObj;
  if (p.Has("srq")) {
    srqObj = unwrap(opts.Get("srq"), "srq", SharedReceiveQueue::Constructor(env_));
    srq_ = SharedReceiveQueue::Unwrap(srqObj);
    srq_->CheckOpen(env_, "ibv_create_qp");
    if (srq_->GetPd() != pd_) throw Napi::TypeError::New(env_, "ibv_create_qp: srq belongs to another protection domain");
  }

  ibv_qp_init_attr attr{};
  attr.qp_type = static_cast<ibv_qp_type>(type);
  attr.send_cq = sendCq_->Handle();
  attr.recv_cq = recvCq_->Handle();
  attr.srq = srq_ != nullptr ? srq_->Handle() : nullptr;
  attr.cap.max_send_wr = p.Uint32("maxSendWr", 128, 1, 1u << 20);
  attr.cap.max_recv_wr = srq_ != nullptr ? 0 : p.Uint32("maxRecvWr", 128, 1, 1u << 20);
  attr.cap.max_send_sge = p.Uint32("maxSendSge", 1, 1, 64);
  attr.cap.max_recv_sge = srq_ != nullptr ? 0 : p.Uint32("maxRecvSge", 1, 1, 64);
  attr.cap.max_inline_data = p.Uint32("maxInlineData", 0, 0, 1u << 16);
  attr.sq_sig_all = p.Bool("sqSigAll", false) ? 1 : 0;

  qp_ = ibv_create_qp(pd_->Handle(), &attr);
  if (qp_ == nullptr) {
    int err = errno ? errno : ENOMEM;
    ThrowRdmaError(env_, "ibv_create_qp", err,
                   err == EINVAL ? "requested capabilities exceed the device limits (see queryDevice())" : "");
  }
  qpn_ = qp_->qp_num;
  type_ = attr.qp_type;
  cap_ = attr.cap;  // the provider rounds the requested caps up
  send_.Configure(cap_.max_send_sge, cap_.max_inline_data, type_ == IBV_QPT_UD);
  sendTracker_.Reset(cap_.max_send_wr, cap_.max_send_sge, true);
  recvTracker_.Reset(cap_.max_recv_wr > 0 ? cap_.max_recv_wr : 1, cap_.max_recv_sge > 0 ? cap_.max_recv_sge : 1, true);
  sendCq_->Attach(this);
  if (recvCq_ != sendCq_) recvCq_->Attach(this);
  AttachTo(pd_, info[0].As<Napi::Object>());
  AttachTo(sendCq_, sendCqObj);
  if (recvCq_ != sendCq_) AttachTo(recvCq_, recvCqObj);
  if (srq_ != nullptr) AttachTo(srq_, srqObj);
}

QueuePair::~QueuePair() { Close(); }

int QueuePair::Release() {
  if (qp_ == nullptr) return 0;
  int err = ibv_destroy_qp(qp_);
  qp_ = nullptr;
  // Destroyed: the NIC is done with whatever was posted.
  sendTracker_.Clear();
  recvTracker_.Clear();
  sendCq_->Detach(this);
  recvCq_->Detach(this);
  sendBanks_.clear();
  return err;
}

uint64_t QueuePair::Complete(uint64_t wrId) {
  switch (wrId & ((1u << kWrKindBits) - 1)) {
    case kWrSend: return sendTracker_.Complete(wrId);
    case kWrRecv: return recvTracker_.Complete(wrId);
    case kWrSrq: return srq_ != nullptr ? srq_->Complete(wrId) : wrId;
    default: return wrId;
  }
}

Napi::Value QueuePair::GetQpn(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), qpn_); }
Napi::Value QueuePair::GetState(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), StateName(state_)); }
Napi::Value QueuePair::GetCap(const Napi::CallbackInfo& info) { return CapToObject(info.Env(), cap_); }
Napi::Value QueuePair::GetOutstanding(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("send", cap_.max_send_wr - sendTracker_.Free());
  o.Set("recv", cap_.max_recv_wr > 0 ? cap_.max_recv_wr - recvTracker_.Free() : 0);
  return o;
}

// modify(attrs): every attribute present in `attrs` is applied and its mask
// bit set. Enum values are the numeric ibv_* constants (mapped in TS).
Napi::Value QueuePair::Modify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_modify_qp");
  Args args(info, "ibv_modify_qp");
  Napi::Object o = args.Object(0, "attributes");
  Props p(o, "ibv_modify_qp");
  ibv_qp_attr a{};
  int mask = 0;

  if (p.Has("qpState")) { a.qp_state = static_cast<ibv_qp_state>(p.Uint32("qpState", 0, 0, IBV_QPS_ERR)); mask |= IBV_QP_STATE; }
  if (p.Has("curQpState")) { a.cur_qp_state = static_cast<ibv_qp_state>(p.Uint32("curQpState", 0, 0, IBV_QPS_ERR)); mask |= IBV_QP_CUR_STATE; }
  if (p.Has("pathMtu")) { a.path_mtu = static_cast<ibv_mtu>(p.Uint32("pathMtu", 0, IBV_MTU_256, IBV_MTU_4096)); mask |= IBV_QP_PATH_MTU; }
  if (p.Has("qkey")) { a.qkey = p.Uint32("qkey", 0); mask |= IBV_QP_QKEY; }
  if (p.Has("rqPsn")) { a.rq_psn = p.Uint32("rqPsn", 0, 0, 0xffffff); mask |= IBV_QP_RQ_PSN; }
  if (p.Has("sqPsn")) { a.sq_psn = p.Uint32("sqPsn", 0, 0, 0xffffff); mask |= IBV_QP_SQ_PSN; }
  if (p.Has("destQpNum")) { a.dest_qp_num = p.Uint32("destQpNum", 0, 0, 0xffffff); mask |= IBV_QP_DEST_QPN; }
  if (p.Has("qpAccessFlags")) { a.qp_access_flags = p.Uint32("qpAccessFlags", 0, 0, 0xffff); mask |= IBV_QP_ACCESS_FLAGS; }
  if (p.Has("pkeyIndex")) { a.pkey_index = static_cast<uint16_t>(p.Uint32("pkeyIndex", 0, 0, 0xffff)); mask |= IBV_QP_PKEY_INDEX; }
  if (p.Has("portNum")) { a.port_num = static_cast<uint8_t>(p.Uint32("portNum", 1, 1, 255)); mask |= IBV_QP_PORT; }
  if (p.Has("timeout")) { a.timeout = static_cast<uint8_t>(p.Uint32("timeout", 0, 0, 31)); mask |= IBV_QP_TIMEOUT; }
  if (p.Has("retryCnt")) { a.retry_cnt = static_cast<uint8_t>(p.Uint32("retryCnt", 0, 0, 7)); mask |= IBV_QP_RETRY_CNT; }
  if (p.Has("rnrRetry")) { a.rnr_retry = static_cast<uint8_t>(p.Uint32("rnrRetry", 0, 0, 7)); mask |= IBV_QP_RNR_RETRY; }
  if (p.Has("minRnrTimer")) { a.min_rnr_timer = static_cast<uint8_t>(p.Uint32("minRnrTimer", 0, 0, 31)); mask |= IBV_QP_MIN_RNR_TIMER; }
  if (p.Has("maxRdAtomic")) { a.max_rd_atomic = static_cast<uint8_t>(p.Uint32("maxRdAtomic", 0, 0, 255)); mask |= IBV_QP_MAX_QP_RD_ATOMIC; }
  if (p.Has("maxDestRdAtomic")) { a.max_dest_rd_atomic = static_cast<uint8_t>(p.Uint32("maxDestRdAtomic", 0, 0, 255)); mask |= IBV_QP_MAX_DEST_RD_ATOMIC; }
  if (p.Has("ahAttr")) {
    ReadAhAttr(args, p.Object("ahAttr"), "ibv_modify_qp: ahAttr", &a.ah_attr);
    mask |= IBV_QP_AV;
  }
  if (mask == 0) args.TypeError("attributes set nothing");

  int err = ibv_modify_qp(qp_, &a, mask);
  if (err != 0) {
    std::string detail = std::string("QP ") + std::to_string(qpn_) + " in state " + StateName(state_);
    if (mask & IBV_QP_STATE) detail += std::string(" -> ") + StateName(a.qp_state);
    ThrowRdmaError(env, "ibv_modify_qp", err, detail);
  }
  if (mask & IBV_QP_STATE) state_ = a.qp_state;
  return env.Undefined();
}

Napi::Value QueuePair::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_query_qp");
  ibv_qp_attr a{};
  ibv_qp_init_attr init{};
  int mask = IBV_QP_STATE | IBV_QP_CUR_STATE | IBV_QP_PATH_MTU | IBV_QP_QKEY | IBV_QP_RQ_PSN | IBV_QP_SQ_PSN |
             IBV_QP_DEST_QPN | IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_TIMEOUT |
             IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_MIN_RNR_TIMER | IBV_QP_MAX_QP_RD_ATOMIC |
             IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_AV | IBV_QP_CAP;
  int err = ibv_query_qp(qp_, &a, mask, &init);
  if (err != 0) ThrowRdmaError(env, "ibv_query_qp", err);
  state_ = a.qp_state;
  Napi::Object o = Napi::Object::New(env);
  o.Set("qpState", static_cast<uint32_t>(a.qp_state));
  o.Set("pathMtu", static_cast<uint32_t>(a.path_mtu));
  o.Set("qkey", a.qkey);
  o.Set("rqPsn", a.rq_psn);
  o.Set("sqPsn", a.sq_psn);
  o.Set("destQpNum", a.dest_qp_num);
  o.Set("qpAccessFlags", static_cast<uint32_t>(a.qp_access_flags));
  o.Set("pkeyIndex", a.pkey_index);
  o.Set("portNum", a.port_num);
  o.Set("timeout", a.timeout);
  o.Set("retryCnt", a.retry_cnt);
  o.Set("rnrRetry", a.rnr_retry);
  o.Set("minRnrTimer", a.min_rnr_timer);
  o.Set("maxRdAtomic", a.max_rd_atomic);
  o.Set("maxDestRdAtomic", a.max_dest_rd_atomic);
  o.Set("sqSigAll", init.sq_sig_all != 0);
  o.Set("cap", CapToObject(env, a.cap));
  o.Set("ahAttr", AhAttrToObject(env, a.ah_attr));
  return o;
}

// bindDescriptors(sendBuffer: ArrayBuffer, recvBuffer?: ArrayBuffer): the
// buffers the TS layer writes work requests into. Slot counts follow from
// their sizes and the QP's SGE caps.
Napi::Value QueuePair::BindDescriptors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "QueuePair.bindDescriptors");
  Args args(info, "QueuePair.bindDescriptors");
  auto send = FixedArrayBufferStore(args.Length() > 0 ? static_cast<napi_value>(info[0]) : nullptr);
  if (!send) args.TypeError("the send descriptors must be a non-resizable ArrayBuffer");
  if (srq_ == nullptr) {
    auto recv = FixedArrayBufferStore(args.Length() > 1 ? static_cast<napi_value>(info[1]) : nullptr);
    if (!recv) args.TypeError("the receive descriptors must be a non-resizable ArrayBuffer");
    recv_.Bind(std::move(recv), cap_.max_recv_sge);
  }
  size_t slots = send->ByteLength() / send_.SlotBytes();
  if (sendBanks_.empty()) sendBanks_.resize(1);
  sendBanks_[0] = SendBank{std::move(send), slots};
  send_.Reserve(slots);
  return env.Undefined();
}

// bindSendBank(buffer: ArrayBuffer) -> id: another send descriptor buffer
// (a prepared set of work requests), posted with postSend(count, id).
Napi::Value QueuePair::BindSendBank(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "QueuePair.bindSendBank");
  Args args(info, "QueuePair.bindSendBank");
  if (sendBanks_.empty()) args.TypeError("bind the QP's own descriptors first");
  auto store = FixedArrayBufferStore(args.Length() > 0 ? static_cast<napi_value>(info[0]) : nullptr);
  if (!store) args.TypeError("the descriptors must be a non-resizable ArrayBuffer");
  size_t slots = store->ByteLength() / send_.SlotBytes();
  if (slots == 0 || slots > cap_.max_send_wr) args.RangeError("a prepared set holds 1 to maxSendWr work requests");
  size_t id = 1;
  while (id < sendBanks_.size() && sendBanks_[id].store != nullptr) id++;
  if (id == sendBanks_.size()) sendBanks_.emplace_back();
  sendBanks_[id] = SendBank{std::move(store), slots};
  send_.Reserve(slots);
  return Napi::Number::New(env, static_cast<double>(id));
}

// unbindSendBank(id): forgets a prepared set (its id may be reused).
Napi::Value QueuePair::UnbindSendBank(const Napi::CallbackInfo& info) {
  Args args(info, "QueuePair.unbindSendBank");
  uint32_t id = args.Uint32(0, "id");
  if (id >= 1 && id < sendBanks_.size()) sendBanks_[id] = SendBank{};
  return info.Env().Undefined();
}

// postSend(count, bank = 0): posts slots [0, count) of a descriptor bank as
// one chain (one doorbell). Every slot is checked again here, prepared or not.
Napi::Value QueuePair::PostSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_post_send");
  Args args(info, "ibv_post_send");
  uint32_t bankId = args.Has(1) ? args.Uint32(1, "bank") : 0;
  if (bankId >= sendBanks_.size() || sendBanks_[bankId].store == nullptr) args.TypeError("no such send descriptors are bound");
  const SendBank& bank = sendBanks_[bankId];
  uint32_t count = args.Uint32(0, "count", 1, static_cast<uint32_t>(bank.slots));
  RequireRoom(env, "ibv_post_send", count, sendTracker_, [&] {
    return "send queue full: " + std::to_string(cap_.max_send_wr - sendTracker_.Free()) +
           " work requests outstanding; reap completions (and signal one send in every few)";
  });
  ibv_send_wr* chain = send_.Build(args, static_cast<const uint8_t*>(bank.store->Data()), count, pd_, sendTracker_);
  PostChain(env, "ibv_post_send", chain, count, sendTracker_,
            [&](ibv_send_wr* wr, ibv_send_wr** bad) { return ibv_post_send(qp_, wr, bad); },
            [&](uint32_t posted) { return Refused(posted, count); });
  return env.Undefined();
}

std::string QueuePair::Refused(uint32_t posted, uint32_t count) const {
  return WrLabel(posted) + "refused, " + std::to_string(posted) + " of " + std::to_string(count) + " posted (QP " +
         std::to_string(qpn_) + " in state " + StateName(state_) + ")";
}

// postRecv(count): posts receive slots [0, count) as one chain.
Napi::Value QueuePair::PostRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_post_recv");
  Args args(info, "ibv_post_recv");
  if (srq_ != nullptr) ThrowRdmaError(env, "ibv_post_recv", EINVAL, "this QP receives through its SRQ; post to the SRQ");
  if (!recv_.Bound()) args.TypeError("no receive descriptors are bound");
  uint32_t count = args.Uint32(0, "count", 1, static_cast<uint32_t>(recv_.Slots()));
  RequireRoom(env, "ibv_post_recv", count, recvTracker_, [&] {
    return "receive queue full: " + std::to_string(cap_.max_recv_wr - recvTracker_.Free()) + " receives outstanding";
  });
  ibv_recv_wr* chain = recv_.Build(args, count, pd_, recvTracker_, kWrRecv);
  PostChain(env, "ibv_post_recv", chain, count, recvTracker_,
            [&](ibv_recv_wr* wr, ibv_recv_wr** bad) { return ibv_post_recv(qp_, wr, bad); },
            [&](uint32_t posted) { return Refused(posted, count); });
  return env.Undefined();
}

}  // namespace rdmajs
