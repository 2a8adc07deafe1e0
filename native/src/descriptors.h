// Reading work requests out of the descriptor buffers the TS layer fills
// (packages/verbs/src/descriptors.ts). The slot and SGE layouts are declared
// in layouts.h; here they become ibv_send_wr / ibv_recv_wr chains, each
// request checked before any is recorded or posted.
#pragma once

#include <infiniband/verbs.h>
#include <v8.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "layouts.h"
#include "util/args.h"
#include "util/errors.h"
#include "work_tracker.h"

namespace rdmajs {

class MemoryRegion;
class ProtectionDomain;

// Reads a field of type T at byte `offset` of a record (memcpy: the
// buffer is the caller's, so no alignment or aliasing is assumed).
template <typename T>
T ReadField(const uint8_t* record, uint32_t offset) {
  T v;
  std::memcpy(&v, record + offset, sizeof v);
  return v;
}

// "work request #i: ", the prefix of every per-request error.
std::string WrLabel(uint32_t i);

// Reads one SGE record; false when the offset is not a valid integer.
bool ReadSge(const uint8_t* record, ibv_sge* out);

// Reads SGE `s` of work request `wr` and returns the live region of `pd`
// that covers it. This is the one check that an SGE's memory is registered
// and open (the TS layer does not repeat it): throws a TypeError when no
// region of the PD has the lkey (closed, deregistered or foreign) and a
// RangeError when the range leaves it.
MemoryRegion* ReadCheckedSge(const Args& args, const uint8_t* record, ProtectionDomain* pd, uint32_t wr, uint32_t s,
                             ibv_sge* out);

// Send work requests of a QP: the ibv_send_wr/ibv_sge arrays a chain is
// built in, sized for the largest bound descriptor buffer and reused.
class SendChain {
 public:
  // The QP's caps, fixed at creation.
  void Configure(uint32_t maxSge, uint32_t maxInline, bool ud);
  size_t SlotBytes() const { return SendSlotBytes(maxSge_); }
  // Makes room for chains of `slots` requests (never shrinks).
  void Reserve(size_t slots);
  // Builds slots [0, count) of `slots` as one chain, recording each in
  // `tracker` (regions and address handles looked up in `pd`). Throws (via
  // args) on a malformed slot before recording any.
  ibv_send_wr* Build(const Args& args, const uint8_t* slots, uint32_t count, ProtectionDomain* pd, WorkTracker& tracker);

 private:
  // Checks slot `i` and fills wrs_[i] and its SGEs.
  void BuildOne(const Args& args, const uint8_t* slot, uint32_t i, ProtectionDomain* pd);
  void ReadRemote(const Args& args, const uint8_t* slot, uint32_t i, ibv_send_wr& wr);

  uint32_t maxSge_ = 0, maxInline_ = 0;
  bool ud_ = false;
  std::vector<ibv_send_wr> wrs_;
  std::vector<ibv_sge> sges_;
  std::vector<MemoryRegion*> regions_;  // the region of each SGE, found while checking
};

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

 private:
  std::shared_ptr<v8::BackingStore> store_;
  size_t slots_ = 0;
  uint32_t maxSge_ = 0;
  std::vector<ibv_recv_wr> wrs_;
  std::vector<ibv_sge> sges_;
  std::vector<MemoryRegion*> regions_;  // the region of each SGE, found while checking
};

// Refuses (ENOMEM) `count` more requests on a queue `tracker` has too few
// free slots for; `full` says what is outstanding.
template <typename Full>
void RequireRoom(Napi::Env env, const char* verb, uint32_t count, const WorkTracker& tracker, Full full) {
  if (count > tracker.Free()) ThrowRdmaError(env, verb, ENOMEM, full());
}

// Posts a built chain of `count` requests with `post` (a lambda over
// ibv_post_send, ibv_post_recv or ibv_post_srq_recv), keeps in `tracker`
// the requests the provider accepted, and throws the refusal, with
// `refused(posted)` as detail, when it stopped short.
template <typename Wr, typename Post, typename Refused>
void PostChain(Napi::Env env, const char* verb, Wr* chain, uint32_t count, WorkTracker& tracker, Post post,
               Refused refused) {
  Wr* bad = nullptr;
  int err = post(chain, &bad);
  uint32_t posted = err == 0 ? count : static_cast<uint32_t>(bad != nullptr ? bad - chain : 0);
  tracker.Commit(posted);
  if (err != 0) ThrowRefusedPost(env, verb, err, posted, refused(posted));
}

}  // namespace rdmajs
