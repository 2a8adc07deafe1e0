// The one declaration of every record the addon shares with the TS layer
// through typed arrays: send and receive work-request slots, SGE records and
// completion records. The addon exports each as a named constant object
// (layouts.cc: SEND_SLOT, RECV_SLOT, SGE, WC_FIELD), and
// packages/verbs/src/descriptors.ts, prepared.ts and cq.ts index by those
// names, so an offset changes here and nowhere else.
//
// Slot and SGE offsets are in bytes (the TS side divides by the element size
// of the typed array it writes with); completion fields are u32 indexes.
#pragma once

#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <utility>

namespace rdmajs {

// Send slot: a 64-byte header, then maxSendSge SGE records.
enum SendSlot : uint32_t {
  kSendWrId = 0,          // u64: the caller's wr_id
  kSendRemoteAddr = 8,    // u64: RDMA/atomic target
  kSendCompareAdd = 16,   // u64: atomics
  kSendSwap = 24,         // u64: ATOMIC_CMP_AND_SWP
  kSendOpcode = 32,       // u32: IBV_WR_*
  kSendFlags = 36,        // u32: IBV_SEND_*
  kSendImm = 40,          // u32: immediate, host byte order
  kSendRkey = 44,         // u32: RDMA/atomic
  kSendNumSge = 48,       // u32
  kSendAhId = 52,         // u32: UD address handle id (protection_domain.h)
  kSendRemoteOffset = 56, // f64: RDMA/atomic, added to the remote address
  kSendRemoteQpn = 56,    // u32: UD (shares bytes with the remote offset)
  kSendRemoteQkey = 60,   // u32: UD
  kSendHeaderBytes = 64,
};

// Receive slot: a 16-byte header (bytes 12-15 unused), then maxRecvSge SGE records.
enum RecvSlot : uint32_t {
  kRecvWrId = 0,    // u64
  kRecvNumSge = 8,  // u32
  kRecvHeaderBytes = 16,
};

// SGE record: the address posted is base + offset (offset is an f64 so the
// TS layer stores a number, not a per-request bigint).
enum SgeRecord : uint32_t {
  kSgeBase = 0,     // u64: the region's address
  kSgeOffset = 8,   // f64
  kSgeLength = 16,  // u32
  kSgeLkey = 20,    // u32
  kSgeBytes = 24,
};

// One completion in the caller's Uint32Array batch: u32 indexes.
enum WcField : uint32_t {
  kWcStatus = 0,
  kWcOpcode,
  kWcVendorErr,
  kWcByteLen,
  kWcImm,  // host byte order
  kWcQpNum,
  kWcSrcQp,
  kWcFlags,
  kWcPkeyIndex,
  kWcSlid,
  kWcSl,
  kWcDlidPathBits,
  kWcFieldCount,
};

// Typed-array views need each field aligned to its size, and the next
// record (an SGE, whose u64 base comes first) aligned to 8.
static_assert(kSendWrId % 8 == 0 && kSendRemoteAddr % 8 == 0 && kSendCompareAdd % 8 == 0 && kSendSwap % 8 == 0 &&
                  kSendRemoteOffset % 8 == 0,
              "u64/f64 send fields must be 8-aligned");
static_assert(kSendOpcode % 4 == 0 && kSendFlags % 4 == 0 && kSendImm % 4 == 0 && kSendRkey % 4 == 0 &&
                  kSendNumSge % 4 == 0 && kSendAhId % 4 == 0 && kSendRemoteQpn % 4 == 0 && kSendRemoteQkey % 4 == 0,
              "u32 send fields must be 4-aligned");
static_assert(kSendRemoteOffset + 8 <= kSendHeaderBytes && kSendRemoteQkey + 4 <= kSendHeaderBytes &&
                  kSendHeaderBytes % 8 == 0,
              "send fields must fit the header");
static_assert(kSendRemoteQpn == kSendRemoteOffset && kSendRemoteQkey == kSendRemoteOffset + 4,
              "only the UD target may share the remote offset's bytes");
static_assert(kRecvNumSge + 4 <= kRecvHeaderBytes && kRecvHeaderBytes % 8 == 0, "receive fields must fit the header");
static_assert(kSgeBase % 8 == 0 && kSgeOffset % 8 == 0 && kSgeLength % 4 == 0 && kSgeLkey + 4 <= kSgeBytes &&
                  kSgeBytes % 8 == 0,
              "SGE record layout");

// Bytes of one slot with room for `maxSge` SGE records.
constexpr size_t SendSlotBytes(uint32_t maxSge) { return kSendHeaderBytes + size_t{kSgeBytes} * maxSge; }
constexpr size_t RecvSlotBytes(uint32_t maxSge) { return kRecvHeaderBytes + size_t{kSgeBytes} * maxSge; }

// A JS object of named numbers (the addon's constant tables).
Napi::Object Named(Napi::Env env, std::initializer_list<std::pair<const char*, uint32_t>> items);

// Sets SEND_SLOT, RECV_SLOT, SGE and WC_FIELD (and the older aliases) on the
// addon's constants object.
void ExportLayouts(Napi::Env env, Napi::Object constants);

}  // namespace rdmajs
