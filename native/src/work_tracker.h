// WorkTracker: what the NIC may still touch. Each posted work request gets
// a slot recording the caller's wr_id and the memory regions it uses; the
// wr_id handed to the verbs is the slot's sequence number instead. When its
// completion is reaped the slot is retired (with every earlier one on an
// in-order queue, which covers unsignaled sends) and the regions dropped.
//
// If a completion is ever lost to this bookkeeping, a region merely stays
// held (its close() says EBUSY) until the queue is closed: memory safety
// never depends on it, since a region owns its memory until deregistered.
#pragma once

#include <cstdint>
#include <vector>

namespace rdmajs {

class MemoryRegion;

// Low bits of the wr_id the verbs see: which tracker issued it.
enum WrKind : uint64_t { kWrSend = 0, kWrRecv = 1, kWrSrq = 2 };
constexpr int kWrKindBits = 2;

class WorkTracker {
 public:
  // In-order queues (a QP's send or receive queue) retire up to the
  // completed slot; an SRQ completes out of order and retires one slot.
  void Reset(uint32_t depth, uint32_t maxSge, bool inOrder);

  // Slots free for new work requests.
  uint32_t Free() const { return depth_ - live_; }
  // Records a work request; returns the wr_id to post.
  uint64_t Add(uint64_t userId, WrKind kind);
  // Adds a region to the request most recently added (holds it).
  void AddRegion(MemoryRegion* mr);
  // Starts a batch (one post call); Commit(n) keeps its first n requests
  // and forgets the rest (the verbs refused them).
  void BeginBatch() { pending_.clear(); }
  void Commit(uint32_t posted);
  // Retires what a completion with this wr_id finishes; returns the caller's id.
  uint64_t Complete(uint64_t wrId);
  // Drops everything (the queue is destroyed: the NIC is done with it).
  void Clear();

 private:
  struct Slot {
    uint64_t userId = 0;
    uint64_t seq = 0;
    uint32_t regions = 0;
    bool live = false;
  };
  void Retire(Slot& slot, uint32_t index);

  std::vector<Slot> slots_;
  std::vector<MemoryRegion*> regions_;  // depth_ * maxSge_
  std::vector<uint32_t> free_;          // out-of-order mode: free slot indices
  std::vector<uint32_t> pending_;       // slots added in the current batch
  uint32_t depth_ = 0, maxSge_ = 0, live_ = 0;
  uint64_t head_ = 0, tail_ = 0;  // in-order mode: sequence numbers
  uint32_t last_ = 0;             // slot of the last Add
  bool inOrder_ = true;
};

}  // namespace rdmajs
