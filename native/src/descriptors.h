// Reading work requests out of the descriptor buffers the TS layer fills
// (layout: packages/verbs/src/descriptors.ts and the comment below).
//
// Send slot: 64-byte header then maxSendSge SGE records.
//   u64[0] wr_id  u64[1] remote_addr  u64[2] compare_add  u64[3] swap
//   u32[8] opcode u32[9] send_flags  u32[10] imm (host order)
//   u32[11] rkey  u32[12] num_sge    u32[13] address handle id (UD)
//   RDMA/atomic: f64[7] remote offset (added to remote_addr)
//   UD:          u32[14] remote QPN, u32[15] remote qkey
// Recv slot: 16-byte header then maxRecvSge SGE records.
//   u64[0] wr_id  u32[2] num_sge     u32[3] reserved
// SGE record (24 bytes): u64 base, f64 offset, u32 length, u32 lkey;
//   the address posted is base + offset.
#pragma once

#include <infiniband/verbs.h>
#include <v8.h>

#include <memory>
#include <vector>

#include "util/args.h"
#include "work_tracker.h"

namespace rdmajs {

class MemoryRegion;
class ProtectionDomain;

constexpr size_t kSendHeader = 64;
constexpr size_t kRecvHeader = 16;
constexpr size_t kSgeRecord = 24;

// Reads one SGE record; false when the offset is not a valid integer.
bool ReadSge(const uint8_t* record, ibv_sge* out);

// Reads SGE `s` of work request `wr` and returns the live region of `pd`
// that covers it. This is the one check that an SGE's memory is registered
// and open (the TS layer does not repeat it): throws a TypeError when no
// region of the PD has the lkey (closed, deregistered or foreign) and a
// RangeError when the range leaves it.
MemoryRegion* ReadCheckedSge(const Args& args, const uint8_t* record, ProtectionDomain* pd, uint32_t wr, uint32_t s,
                             ibv_sge* out);

// Receive work requests of a QP or an SRQ: the bound descriptor buffer and
// the ibv_recv_wr/ibv_sge arrays built from it, allocated once.
class RecvChain {
 public:
  void Bind(std::shared_ptr<v8::BackingStore> store, uint32_t maxSge);
  bool Bound() const { return store_ != nullptr && slots_ > 0; }
  size_t Slots() const { return slots_; }
  // Builds slots [0, count) as one chain, recording each in `tracker`
  // (regions looked up in `pd`). Throws (via args) on malformed slots.
  ibv_recv_wr* Build(const Args& args, uint32_t count, ProtectionDomain* pd, WorkTracker& tracker, WrKind kind);
  size_t IndexOf(const ibv_recv_wr* wr) const { return static_cast<size_t>(wr - wrs_.data()); }

 private:
  std::shared_ptr<v8::BackingStore> store_;
  size_t slots_ = 0;
  uint32_t maxSge_ = 0;
  std::vector<ibv_recv_wr> wrs_;
  std::vector<ibv_sge> sges_;
  std::vector<MemoryRegion*> regions_;  // the region of each SGE, found while checking
};

}  // namespace rdmajs
