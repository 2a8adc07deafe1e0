#include "shared_receive_queue.h"

#include <cerrno>

#include "protection_domain.h"
#include "v8_bridge.h"

namespace rdmajs {

Napi::Function SharedReceiveQueue::Init(Napi::Env env) {
  return Define(env, {
      InstanceAccessor<&SharedReceiveQueue::GetCap>("cap"),
      InstanceMethod<&SharedReceiveQueue::BindDescriptors>("bindDescriptors"),
      InstanceMethod<&SharedReceiveQueue::PostRecv>("postRecv"),
      InstanceMethod<&SharedReceiveQueue::Modify>("modify"),
      InstanceMethod<&SharedReceiveQueue::Query>("query"),
  });
}

// new SharedReceiveQueue(pd, { maxWr, maxSge, srqLimit })
SharedReceiveQueue::SharedReceiveQueue(const Napi::CallbackInfo& info) : Wrapped(info) {
  Args args(info, "ibv_create_srq");
  pd_ = args.Wrapped<ProtectionDomain>(0, "pd");
  Props p(args.Object(1, "options"), "ibv_create_srq");
  ibv_srq_init_attr init{};
  init.attr.max_wr = p.Uint32("maxWr", 256, 1, 1u << 20);
  init.attr.max_sge = p.Uint32("maxSge", 1, 1, 64);
  init.attr.srq_limit = p.Uint32("srqLimit", 0, 0, 1u << 20);
  srq_ = ibv_create_srq(pd_->Handle(), &init);
  if (srq_ == nullptr) ThrowRdmaError(info.Env(), "ibv_create_srq", errno ? errno : ENOMEM);
  attr_ = init.attr;
  tracker_.Reset(attr_.max_wr, attr_.max_sge, false);
  AttachTo(pd_, info[0].As<Napi::Object>());
}

SharedReceiveQueue::~SharedReceiveQueue() { Close(); }

int SharedReceiveQueue::Release() {
  if (srq_ == nullptr) return 0;
  int err = ibv_destroy_srq(srq_);
  srq_ = nullptr;
  tracker_.Clear();
  return err;
}

Napi::Value SharedReceiveQueue::GetCap(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("maxWr", attr_.max_wr);
  o.Set("maxSge", attr_.max_sge);
  return o;
}

Napi::Value SharedReceiveQueue::BindDescriptors(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "SharedReceiveQueue.bindDescriptors");
  Args args(info, "SharedReceiveQueue.bindDescriptors");
  auto store = FixedArrayBufferStore(args.Length() > 0 ? static_cast<napi_value>(info[0]) : nullptr);
  if (!store) args.TypeError("descriptors must be a non-resizable ArrayBuffer");
  recv_.Bind(std::move(store), attr_.max_sge);
  return info.Env().Undefined();
}

Napi::Value SharedReceiveQueue::PostRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_post_srq_recv");
  Args args(info, "ibv_post_srq_recv");
  if (!recv_.Bound()) args.TypeError("no descriptors are bound");
  uint32_t count = args.Uint32(0, "count", 1, static_cast<uint32_t>(recv_.Slots()));
  RequireRoom(env, "ibv_post_srq_recv", count, tracker_, [&] {
    return "SRQ full: " + std::to_string(attr_.max_wr - tracker_.Free()) + " receives outstanding";
  });
  ibv_recv_wr* chain = recv_.Build(args, count, pd_, tracker_, kWrSrq);
  PostChain(env, "ibv_post_srq_recv", chain, count, tracker_,
            [&](ibv_recv_wr* wr, ibv_recv_wr** bad) { return ibv_post_srq_recv(srq_, wr, bad); },
            [&](uint32_t posted) { return std::to_string(posted) + " of " + std::to_string(count) + " posted"; });
  return env.Undefined();
}

// modify({ maxWr?, srqLimit? }): resize, or arm the limit event (an async
// SRQ_LIMIT_REACHED fires once fewer than srqLimit receives remain).
Napi::Value SharedReceiveQueue::Modify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_modify_srq");
  Args args(info, "ibv_modify_srq");
  Props p(args.Object(0, "attributes"), "ibv_modify_srq");
  ibv_srq_attr a{};
  int mask = 0;
  if (p.Has("maxWr")) { a.max_wr = p.Uint32("maxWr", 0, 1, 1u << 20); mask |= IBV_SRQ_MAX_WR; }
  if (p.Has("srqLimit")) { a.srq_limit = p.Uint32("srqLimit", 0, 0, 1u << 20); mask |= IBV_SRQ_LIMIT; }
  if (mask == 0) args.TypeError("attributes set nothing");
  int err = ibv_modify_srq(srq_, &a, mask);
  if (err != 0) ThrowRdmaError(env, "ibv_modify_srq", err);
  return env.Undefined();
}

Napi::Value SharedReceiveQueue::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_query_srq");
  ibv_srq_attr a{};
  int err = ibv_query_srq(srq_, &a);
  if (err != 0) ThrowRdmaError(env, "ibv_query_srq", err);
  Napi::Object o = Napi::Object::New(env);
  o.Set("maxWr", a.max_wr);
  o.Set("maxSge", a.max_sge);
  o.Set("srqLimit", a.srq_limit);
  return o;
}

}  // namespace rdmajs
