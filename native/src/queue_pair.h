// QueuePair: a send queue and a receive queue (ibv_qp). Work requests are
// read from descriptor buffers the TS layer fills in place (layouts.h, read
// by descriptors.h), so posting a batch is one native call with no per-request
// JS objects. Every posted request is tracked until its completion is reaped
// (work_tracker.h).
#pragma once

#include <infiniband/verbs.h>
#include <v8.h>

#include <memory>
#include <vector>

#include "util/wrapped.h"
#include "descriptors.h"
#include "work_tracker.h"

namespace rdmajs {

class ProtectionDomain;
class CompletionQueue;
class MemoryRegion;
class SharedReceiveQueue;

class QueuePair : public Wrapped<QueuePair> {
 public:
  static constexpr Kind kKind = Kind::QueuePair;
  static Napi::Function Init(Napi::Env env);

  explicit QueuePair(const Napi::CallbackInfo& info);
  ~QueuePair() override;

  uint32_t Qpn() const { return qpn_; }
  ibv_qp* Handle() const { return qp_; }
  ProtectionDomain* GetPd() const { return pd_; }
  // For work posted by other verbs on this send queue (ibv_bind_mw): track
  // one request, then say whether it was posted.
  bool SendQueueFull() const { return sendTracker_.Free() == 0; }
  uint64_t TrackOne(uint64_t userId) {
    sendTracker_.BeginBatch();
    return sendTracker_.Add(userId, kWrSend);
  }
  void CommitOne(bool posted) { sendTracker_.Commit(posted ? 1 : 0); }
  // From a CQ poll: retires the request a completion finishes and returns the
  // caller's wr_id.
  uint64_t Complete(uint64_t wrId);

 protected:
  int Release() override;

 private:
  Napi::Value GetQpn(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value GetCap(const Napi::CallbackInfo& info);
  Napi::Value GetOutstanding(const Napi::CallbackInfo& info);
  Napi::Value Modify(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value BindDescriptors(const Napi::CallbackInfo& info);
  Napi::Value BindSendBank(const Napi::CallbackInfo& info);
  Napi::Value UnbindSendBank(const Napi::CallbackInfo& info);
  Napi::Value PostSend(const Napi::CallbackInfo& info);
  // Why a post was refused: which request, how far the chain got, and the
  // QP state (the usual cause).
  std::string Refused(uint32_t posted, uint32_t count) const;
  Napi::Value PostRecv(const Napi::CallbackInfo& info);

  Napi::Env env_;
  ibv_qp* qp_ = nullptr;
  uint32_t qpn_ = 0;
  ibv_qp_type type_ = IBV_QPT_RC;
  ProtectionDomain* pd_ = nullptr;
  CompletionQueue* sendCq_ = nullptr;
  CompletionQueue* recvCq_ = nullptr;
  SharedReceiveQueue* srq_ = nullptr;
  ibv_qp_cap cap_{};
  ibv_qp_state state_ = IBV_QPS_RESET;

  // Send descriptor buffers: [0] from bindDescriptors (what postSend(wrs)
  // encodes into), the others prepared sets (bindSendBank). A free entry has
  // no store.
  struct SendBank {
    std::shared_ptr<v8::BackingStore> store;
    size_t slots = 0;
  };
  std::vector<SendBank> sendBanks_;
  SendChain send_;  // sized for the largest bank
  RecvChain recv_;
  WorkTracker sendTracker_, recvTracker_;
};

}  // namespace rdmajs
