// QueuePair: a send queue and a receive queue (ibv_qp). Work requests are
// read from descriptor buffers the TS layer fills in place, so posting a
// batch is one native call with no per-request JS objects.
#pragma once

#include <infiniband/verbs.h>
#include <v8.h>

#include <memory>
#include <vector>

#include "common.h"

namespace rdmajs {

class ProtectionDomain;
class CompletionQueue;

// Descriptor layout shared with packages/verbs/src/descriptors.ts.
// Send slot: 64-byte header then maxSendSge SGE records.
//   u64[0] wr_id  u64[1] remote_addr  u64[2] compare_add  u64[3] swap
//   u32[8] opcode u32[9] send_flags  u32[10] imm/invalidate (host order)
//   u32[11] rkey  u32[12] num_sge    u32[13] reserved
//   f64[7] remote offset (added to remote_addr)
// Recv slot: 16-byte header then maxRecvSge SGE records.
//   u64[0] wr_id  u32[2] num_sge     u32[3] reserved
// SGE record (24 bytes): u64 base, f64 offset, u32 length, u32 lkey;
//   the address posted is base + offset.
constexpr size_t kSendHeader = 64;
constexpr size_t kRecvHeader = 16;
constexpr size_t kSgeRecord = 24;

class QueuePair : public Napi::ObjectWrap<QueuePair>, public Resource {
 public:
  static constexpr const char* kTypeName = "QueuePair";
  static Napi::Function Init(Napi::Env env);

  explicit QueuePair(const Napi::CallbackInfo& info);
  ~QueuePair() override;

 protected:
  int Release() override;

 private:
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value GetQpn(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value GetCap(const Napi::CallbackInfo& info);
  Napi::Value Modify(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value BindDescriptors(const Napi::CallbackInfo& info);
  Napi::Value PostSend(const Napi::CallbackInfo& info);
  Napi::Value PostRecv(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);

  Napi::Env env_;
  ibv_qp* qp_ = nullptr;
  ProtectionDomain* pd_ = nullptr;
  ibv_qp_cap cap_{};
  ibv_qp_state state_ = IBV_QPS_RESET;

  // Descriptor memory (owned via backing stores) and the WR/SGE arrays built
  // from it, allocated once at bind time.
  std::shared_ptr<v8::BackingStore> sendStore_, recvStore_;
  size_t sendSlots_ = 0, recvSlots_ = 0;
  std::vector<ibv_send_wr> sendWrs_;
  std::vector<ibv_recv_wr> recvWrs_;
  std::vector<ibv_sge> sendSges_, recvSges_;
};

}  // namespace rdmajs
