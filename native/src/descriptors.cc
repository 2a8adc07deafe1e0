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

MemoryRegion* ReadCheckedSge(const Args& args, const uint8_t* rec, ProtectionDomain* pd, uint32_t wr, uint32_t s,
                             ibv_sge* out) {
  auto where = [&] { return "work request #" + std::to_string(wr) + ": sg[" + std::to_string(s) + "]"; };
  if (!ReadSge(rec, out)) args.RangeError(where() + ": bad offset");
  MemoryRegion* mr = pd->FindRegion(out->lkey);
  if (mr == nullptr || mr->IsClosed()) {
    args.TypeError(where() + ".mr is closed (deregistered) or not registered in this protection domain");
  }
  if (!mr->Covers(out->addr, out->length)) args.RangeError(where() + " lies outside its memory region");
  return mr;
}

void RecvChain::Bind(std::shared_ptr<v8::BackingStore> store, uint32_t maxSge) {
  maxSge_ = maxSge;
  slots_ = store->ByteLength() / (kRecvHeader + kSgeRecord * maxSge);
  store_ = std::move(store);
  wrs_.assign(slots_, ibv_recv_wr{});
  sges_.assign(slots_ * maxSge, ibv_sge{});
  regions_.assign(slots_ * maxSge, nullptr);
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
      size_t k = i * maxSge_ + s;
      regions_[k] = ReadCheckedSge(args, slot + kRecvHeader + s * kSgeRecord, pd, i, s, &sges_[k]);
    }
  }
  tracker.BeginBatch();
  for (uint32_t i = 0; i < count; i++) {
    uint64_t userId;
    std::memcpy(&userId, base + i * slotSize, 8);
    wrs_[i].wr_id = tracker.Add(userId, kind);
    for (int s = 0; s < wrs_[i].num_sge; s++) tracker.AddRegion(regions_[i * maxSge_ + s]);
  }
  return wrs_.data();
}

}  // namespace rdmajs
