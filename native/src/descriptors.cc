#include "descriptors.h"

#include <arpa/inet.h>

#include "address_handle.h"
#include "memory_region.h"
#include "protection_domain.h"

namespace rdmajs {

namespace {

// Offsets travel as f64 so the TS layer stores numbers, not bigints.
constexpr double kMaxSafeInteger = 9007199254740991.0;

bool IsSend(ibv_wr_opcode op) { return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM; }
bool IsAtomic(ibv_wr_opcode op) { return op == IBV_WR_ATOMIC_CMP_AND_SWP || op == IBV_WR_ATOMIC_FETCH_AND_ADD; }

}  // namespace

std::string WrLabel(uint32_t i) { return "work request #" + std::to_string(i) + ": "; }

bool ReadSge(const uint8_t* rec, ibv_sge* out) {
  double offset = ReadField<double>(rec, kSgeOffset);
  out->length = ReadField<uint32_t>(rec, kSgeLength);
  out->lkey = ReadField<uint32_t>(rec, kSgeLkey);
  if (!(offset >= 0 && offset <= kMaxSafeInteger)) return false;
  out->addr = ReadField<uint64_t>(rec, kSgeBase) + static_cast<uint64_t>(offset);
  return true;
}

MemoryRegion* ReadCheckedSge(const Args& args, const uint8_t* rec, ProtectionDomain* pd, uint32_t wr, uint32_t s,
                             ibv_sge* out) {
  auto where = [&] { return WrLabel(wr) + "sg[" + std::to_string(s) + "]"; };
  if (!ReadSge(rec, out)) args.RangeError(where() + ": bad offset");
  MemoryRegion* mr = pd->FindRegion(out->lkey);
  if (mr == nullptr || mr->IsClosed()) {
    args.TypeError(where() + ".mr is closed (deregistered) or not registered in this protection domain");
  }
  if (!mr->Covers(out->addr, out->length)) args.RangeError(where() + " lies outside its memory region");
  return mr;
}

void SendChain::Configure(uint32_t maxSge, uint32_t maxInline, bool ud) {
  maxSge_ = maxSge;
  maxInline_ = maxInline;
  ud_ = ud;
}

void SendChain::Reserve(size_t slots) {
  if (slots <= wrs_.size()) return;
  wrs_.assign(slots, ibv_send_wr{});
  sges_.assign(slots * maxSge_, ibv_sge{});
  regions_.assign(slots * maxSge_, nullptr);
}

ibv_send_wr* SendChain::Build(const Args& args, const uint8_t* slots, uint32_t count, ProtectionDomain* pd,
                              WorkTracker& tracker) {
  size_t slotBytes = SlotBytes();
  // Validate and build every request before recording any.
  for (uint32_t i = 0; i < count; i++) {
    BuildOne(args, slots + i * slotBytes, i, pd);
    wrs_[i].next = i + 1 < count ? &wrs_[i + 1] : nullptr;
  }
  tracker.BeginBatch();
  for (uint32_t i = 0; i < count; i++) {
    ibv_send_wr& wr = wrs_[i];
    wr.wr_id = tracker.Add(ReadField<uint64_t>(slots + i * slotBytes, kSendWrId), kWrSend);
    // Inline payloads are copied at post time: nothing to hold for them.
    if (!(wr.send_flags & IBV_SEND_INLINE)) {
      for (int s = 0; s < wr.num_sge; s++) tracker.AddRegion(regions_[i * maxSge_ + s]);
    }
  }
  return wrs_.data();
}

void SendChain::BuildOne(const Args& args, const uint8_t* slot, uint32_t i, ProtectionDomain* pd) {
  ibv_send_wr& wr = wrs_[i];
  wr = ibv_send_wr{};
  uint32_t opcode = ReadField<uint32_t>(slot, kSendOpcode);
  uint32_t flags = ReadField<uint32_t>(slot, kSendFlags);
  uint32_t numSge = ReadField<uint32_t>(slot, kSendNumSge);
  if (opcode > IBV_WR_ATOMIC_FETCH_AND_ADD) args.RangeError(WrLabel(i) + "bad opcode");
  if (numSge > maxSge_) {
    args.RangeError(WrLabel(i) + std::to_string(numSge) + " SGEs exceed maxSendSge " + std::to_string(maxSge_));
  }
  wr.opcode = static_cast<ibv_wr_opcode>(opcode);
  wr.send_flags = flags;
  wr.num_sge = static_cast<int>(numSge);
  wr.sg_list = numSge > 0 ? &sges_[i * maxSge_] : nullptr;
  if (wr.opcode == IBV_WR_SEND_WITH_IMM || wr.opcode == IBV_WR_RDMA_WRITE_WITH_IMM) {
    wr.imm_data = htonl(ReadField<uint32_t>(slot, kSendImm));
  }

  if (ud_) {
    if (!IsSend(wr.opcode)) args.RangeError(WrLabel(i) + "UD supports only SEND");
    AddressHandle* ah = pd->FindAddressHandle(ReadField<uint32_t>(slot, kSendAhId));
    if (ah == nullptr || ah->IsClosed()) args.TypeError(WrLabel(i) + "no live address handle in this PD");
    wr.wr.ud.ah = ah->Handle();
    wr.wr.ud.remote_qpn = ReadField<uint32_t>(slot, kSendRemoteQpn);
    wr.wr.ud.remote_qkey = ReadField<uint32_t>(slot, kSendRemoteQkey);
  } else if (!IsSend(wr.opcode)) {
    ReadRemote(args, slot, i, wr);
  }

  uint64_t inlineBytes = 0;
  for (uint32_t s = 0; s < numSge; s++) {
    size_t k = i * maxSge_ + s;
    // Inline or not, the range must lie in live registered memory of this
    // PD: the provider copies inline data from sge.addr with no key check.
    regions_[k] = ReadCheckedSge(args, slot + kSendHeaderBytes + s * kSgeBytes, pd, i, s, &sges_[k]);
    if (flags & IBV_SEND_INLINE) inlineBytes += sges_[k].length;
  }
  if ((flags & IBV_SEND_INLINE) && inlineBytes > maxInline_) {
    args.RangeError(WrLabel(i) + std::to_string(inlineBytes) + " inline bytes exceed maxInlineData " +
                    std::to_string(maxInline_));
  }
}

// The target of an RDMA or atomic request: address + offset, and its rkey.
void SendChain::ReadRemote(const Args& args, const uint8_t* slot, uint32_t i, ibv_send_wr& wr) {
  double offset = ReadField<double>(slot, kSendRemoteOffset);
  if (!(offset >= 0 && offset <= kMaxSafeInteger)) args.RangeError(WrLabel(i) + "bad remote offset");
  uint64_t remote = ReadField<uint64_t>(slot, kSendRemoteAddr) + static_cast<uint64_t>(offset);
  uint32_t rkey = ReadField<uint32_t>(slot, kSendRkey);
  if (IsAtomic(wr.opcode)) {
    if ((remote & 7) != 0) args.RangeError(WrLabel(i) + "atomic target address must be 8-byte aligned");
    wr.wr.atomic.remote_addr = remote;
    wr.wr.atomic.rkey = rkey;
    wr.wr.atomic.compare_add = ReadField<uint64_t>(slot, kSendCompareAdd);
    wr.wr.atomic.swap = ReadField<uint64_t>(slot, kSendSwap);
  } else {
    wr.wr.rdma.remote_addr = remote;
    wr.wr.rdma.rkey = rkey;
  }
}

void RecvChain::Bind(std::shared_ptr<v8::BackingStore> store, uint32_t maxSge) {
  maxSge_ = maxSge;
  slots_ = store->ByteLength() / RecvSlotBytes(maxSge);
  store_ = std::move(store);
  wrs_.assign(slots_, ibv_recv_wr{});
  sges_.assign(slots_ * maxSge, ibv_sge{});
  regions_.assign(slots_ * maxSge, nullptr);
}

ibv_recv_wr* RecvChain::Build(const Args& args, uint32_t count, ProtectionDomain* pd, WorkTracker& tracker, WrKind kind) {
  const uint8_t* base = static_cast<const uint8_t*>(store_->Data());
  size_t slotBytes = RecvSlotBytes(maxSge_);
  // Validate everything before recording anything.
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* slot = base + i * slotBytes;
    ibv_recv_wr& wr = wrs_[i];
    wr = ibv_recv_wr{};
    uint32_t numSge = ReadField<uint32_t>(slot, kRecvNumSge);
    if (numSge > maxSge_) {
      args.RangeError(WrLabel(i) + std::to_string(numSge) + " SGEs exceed maxRecvSge " + std::to_string(maxSge_));
    }
    wr.num_sge = static_cast<int>(numSge);
    wr.sg_list = numSge > 0 ? &sges_[i * maxSge_] : nullptr;
    wr.next = i + 1 < count ? &wrs_[i + 1] : nullptr;
    for (uint32_t s = 0; s < numSge; s++) {
      size_t k = i * maxSge_ + s;
      regions_[k] = ReadCheckedSge(args, slot + kRecvHeaderBytes + s * kSgeBytes, pd, i, s, &sges_[k]);
    }
  }
  tracker.BeginBatch();
  for (uint32_t i = 0; i < count; i++) {
    wrs_[i].wr_id = tracker.Add(ReadField<uint64_t>(base + i * slotBytes, kRecvWrId), kind);
    for (int s = 0; s < wrs_[i].num_sge; s++) tracker.AddRegion(regions_[i * maxSge_ + s]);
  }
  return wrs_.data();
}

}  // namespace rdmajs
