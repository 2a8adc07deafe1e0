#include "work_tracker.h"

#include "memory_region.h"

namespace rdmajs {

void WorkTracker::Reset(uint32_t depth, uint32_t maxSge, bool inOrder) {
  Clear();
  depth_ = depth;
  maxSge_ = maxSge;
  inOrder_ = inOrder;
  slots_.assign(depth, Slot{});
  regions_.assign(static_cast<size_t>(depth) * maxSge, nullptr);
  pending_.reserve(depth);
  free_.clear();
  if (!inOrder) {
    for (uint32_t i = depth; i > 0; i--) free_.push_back(i - 1);
  }
}

uint64_t WorkTracker::Add(uint64_t userId, WrKind kind) {
  uint32_t index;
  uint64_t seq;
  if (inOrder_) {
    seq = head_++;
    index = static_cast<uint32_t>(seq % depth_);
  } else {
    index = free_.back();
    free_.pop_back();
    seq = index;
  }
  Slot& s = slots_[index];
  s.userId = userId;
  s.seq = seq;
  s.regions = 0;
  s.live = true;
  live_++;
  last_ = index;
  pending_.push_back(index);
  return (seq << kWrKindBits) | kind;
}

void WorkTracker::AddRegion(MemoryRegion* mr) {
  Slot& s = slots_[last_];
  if (s.regions >= maxSge_) return;
  regions_[static_cast<size_t>(last_) * maxSge_ + s.regions++] = mr;
  mr->Hold();
}

void WorkTracker::Retire(Slot& slot, uint32_t index) {
  for (uint32_t r = 0; r < slot.regions; r++) regions_[static_cast<size_t>(index) * maxSge_ + r]->Drop();
  slot.regions = 0;
  slot.live = false;
  live_--;
  if (!inOrder_) free_.push_back(index);
}

void WorkTracker::Commit(uint32_t posted) {
  for (size_t i = pending_.size(); i > posted; i--) {
    uint32_t index = pending_[i - 1];
    Retire(slots_[index], index);
    if (inOrder_) head_--;  // refused requests are the newest
  }
  pending_.clear();
}

uint64_t WorkTracker::Complete(uint64_t wrId) {
  uint64_t seq = wrId >> kWrKindBits;
  if (inOrder_) {
    if (seq < tail_ || seq >= head_) return wrId;  // not ours (or already retired)
    uint32_t index = static_cast<uint32_t>(seq % depth_);
    uint64_t userId = slots_[index].userId;
    while (tail_ <= seq) {
      uint32_t i = static_cast<uint32_t>(tail_ % depth_);
      if (slots_[i].live) Retire(slots_[i], i);
      tail_++;
    }
    return userId;
  }
  if (seq >= depth_ || !slots_[seq].live) return wrId;
  uint32_t index = static_cast<uint32_t>(seq);
  uint64_t userId = slots_[index].userId;
  Retire(slots_[index], index);
  return userId;
}

void WorkTracker::Clear() {
  for (uint32_t i = 0; i < slots_.size(); i++) {
    if (slots_[i].live) Retire(slots_[i], i);
  }
  head_ = tail_ = 0;
  if (!inOrder_) {
    free_.clear();
    for (uint32_t i = depth_; i > 0; i--) free_.push_back(i - 1);
  }
}

}  // namespace rdmajs
