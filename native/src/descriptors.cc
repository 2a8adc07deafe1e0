#include "descriptors.h"

#include <cstring>
#include <string>

#include "memory_region.h"
#include "protection_domain.h"

namespace rdmajs {

bool ReadSge(const uint8_t* rec, ibv_sge* out) {
  uint64_t base;
  double offset;
  std::memcpy(&base, rec, 8);
  std::memcpy(&offset, rec + 8, 8);
  std::memcpy(&out->length, rec + 16, 4);
  std::memcpy(&out->lkey, rec + 20, 4);
  if (!(offset >= 0 && offset <= 9007199254740991.0)) return false;
  out->addr = base + static_cast<uint64_t>(offset);
  return true;
}

void RecvChain::Bind(std::shared_ptr<v8::BackingStore> store, uint32_t maxSge) {
  maxSge_ = maxSge;
  slots_ = store->ByteLength() / (kRecvHeader + kSgeRecord * maxSge);
  store_ = std::move(store);
  wrs_.assign(slots_, ibv_recv_wr{});
  sges_.assign(slots_ * maxSge, ibv_sge{});
}

ibv_recv_wr* RecvChain::Build(const Args& args, uint32_t count, ProtectionDomain* pd, WorkTracker& tracker, WrKind kind) {
  const uint8_t* base = static_cast<const uint8_t*>(store_->Data());
  size_t slotSize = kRecvHeader + kSgeRecord * maxSge_;
  // Validate everything before recording anything.
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* slot = base + i * slotSize;
    ibv_recv_wr& wr = wrs_[i];
    wr = ibv_recv_wr{};
    uint32_t numSge;
    std::memcpy(&numSge, slot + 8, 4);
    if (numSge > maxSge_) {
      args.RangeError("work request #" + std::to_string(i) + ": " + std::to_string(numSge) + " SGEs exceed maxRecvSge " +
                      std::to_string(maxSge_));
    }
    wr.num_sge = static_cast<int>(numSge);
    wr.sg_list = numSge > 0 ? &sges_[i * maxSge_] : nullptr;
    wr.next = i + 1 < count ? &wrs_[i + 1] : nullptr;
    for (uint32_t s = 0; s < numSge; s++) {
      if (!ReadSge(slot + kRecvHeader + s * kSgeRecord, &sges_[i * maxSge_ + s])) {
        args.RangeError("work request #" + std::to_string(i) + ": bad SGE offset");
      }
    }
  }
  tracker.BeginBatch();
  for (uint32_t i = 0; i < count; i++) {
    uint64_t userId;
    std::memcpy(&userId, base + i * slotSize, 8);
    wrs_[i].wr_id = tracker.Add(userId, kind);
    for (int s = 0; s < wrs_[i].num_sge; s++) {
      if (MemoryRegion* mr = pd->FindRegion(wrs_[i].sg_list[s].lkey)) tracker.AddRegion(mr);
    }
  }
  return wrs_.data();
}

}  // namespace rdmajs
