#include "memory_window.h"

#include <cerrno>

#include "memory_region.h"
#include "protection_domain.h"
#include "queue_pair.h"

namespace rdmajs {

Napi::Function MemoryWindow::Init(Napi::Env env) {
  return Define(env, {
      InstanceAccessor<&MemoryWindow::GetRkey>("rkey"),
      InstanceMethod<&MemoryWindow::Bind>("bind"),
  });
}

// new MemoryWindow(pd)
MemoryWindow::MemoryWindow(const Napi::CallbackInfo& info) : Wrapped(info) {
  Args args(info, "ibv_alloc_mw");
  pd_ = args.Wrapped<ProtectionDomain>(0, "pd");
  mw_ = ibv_alloc_mw(pd_->Handle(), IBV_MW_TYPE_1);
  if (mw_ == nullptr) {
    int err = errno ? errno : EOPNOTSUPP;
    ThrowRdmaError(info.Env(), "ibv_alloc_mw", err, err == EOPNOTSUPP ? "this device does not support memory windows" : "");
  }
  AttachTo(pd_, info[0].As<Napi::Object>());
}

MemoryWindow::~MemoryWindow() { Close(); }

int MemoryWindow::Release() {
  if (mw_ == nullptr) return 0;
  int err = ibv_dealloc_mw(mw_);
  mw_ = nullptr;
  return err;
}

Napi::Value MemoryWindow::GetRkey(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), mw_ != nullptr ? mw_->rkey : 0);
}

// bind(qp, mr, offset, length, access, wrId: bigint, signaled): posts the
// bind on qp's send queue; length 0 invalidates the window. The new rkey is
// readable at once; the completion (BIND_MW) follows. mr is required: the rxe
// provider dereferences it even for the spec's mr-less unbind.
Napi::Value MemoryWindow::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_bind_mw");
  Args args(info, "ibv_bind_mw");
  QueuePair* qp = args.Wrapped<QueuePair>(0, "qp");
  if (qp->GetPd() != pd_) args.TypeError("qp belongs to another protection domain");
  MemoryRegion* mr = args.Wrapped<MemoryRegion>(1, "mr");
  if (mr->GetPd() != pd_) args.TypeError("mr belongs to another protection domain");
  double offset = args.Has(2) ? args.Uint32(2, "offset") : 0;  // within the region
  double length = args.Has(3) ? args.Uint32(3, "length") : 0;
  uint32_t access = args.Uint32(4, "access", 0, 0xffff);
  if (!info[5].IsBigInt()) args.TypeError("wrId must be a bigint");
  bool lossless = false;
  uint64_t userId = info[5].As<Napi::BigInt>().Uint64Value(&lossless);
  bool signaled = args.Bool(6, "signaled");

  ibv_mw_bind bind{};
  bind.send_flags = signaled ? IBV_SEND_SIGNALED : 0;
  if (offset + length > mr->Handle()->length) args.RangeError("the window must lie inside the memory region");
  bind.bind_info.mr = mr->Handle();
  bind.bind_info.addr = reinterpret_cast<uintptr_t>(mr->Handle()->addr) + static_cast<uint64_t>(offset);
  bind.bind_info.length = static_cast<uint64_t>(length);
  bind.bind_info.mw_access_flags = length > 0 ? access : 0;
  if (qp->SendQueueFull()) ThrowRdmaError(env, "ibv_bind_mw", ENOMEM, "send queue full");
  bind.wr_id = qp->TrackOne(userId);
  int err = ibv_bind_mw(qp->Handle(), mw_, &bind);
  qp->CommitOne(err == 0);
  if (err != 0) ThrowRdmaError(env, "ibv_bind_mw", err);
  return Napi::Number::New(env, mw_->rkey);
}

}  // namespace rdmajs
