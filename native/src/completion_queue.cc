#include "completion_queue.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "completion_channel.h"
#include "context.h"
#include "queue_pair.h"
#include "v8_bridge.h"

namespace rdmajs {

namespace {
// ibv_ack_cq_events takes a mutex; acking every event would cost more than
// the poll itself, so acks are batched (and flushed before destroy).
constexpr uint32_t kAckBatch = 64;
constexpr int kPollChunk = 32;
constexpr int kSpinChecks = 64;
}  // namespace

Napi::Function CompletionQueue::Init(Napi::Env env) {
  return Define(env, {
      InstanceAccessor<&CompletionQueue::GetSize>("size"),
      InstanceMethod<&CompletionQueue::BindBatch>("bindBatch"),
      InstanceMethod<&CompletionQueue::Poll>("poll"),
      InstanceMethod<&CompletionQueue::RequestNotify>("requestNotify"),
      InstanceMethod<&CompletionQueue::Arm>("arm"),
      InstanceMethod<&CompletionQueue::SetHandler>("setHandler"),
      InstanceMethod<&CompletionQueue::Ref>("ref"),
      InstanceMethod<&CompletionQueue::Unref>("unref"),
  });
}

// new CompletionQueue(context, entries, channel | null, compVector)
CompletionQueue::CompletionQueue(const Napi::CallbackInfo& info)
    : Wrapped(info), env_(info.Env()) {
  Args args(info, "ibv_create_cq");
  context_ = args.Wrapped<Context>(0, "context");
  uint32_t entries = args.Uint32(1, "entries", 1, INT32_MAX);
  if (args.Has(2)) {
    channel_ = args.Wrapped<CompletionChannel>(2, "channel");
    if (channel_->GetContext() != context_) args.TypeError("channel belongs to another device context");
  }
  uint32_t vector = args.Has(3) ? args.Uint32(3, "compVector", 0, INT32_MAX) : 0;

  cq_ = ibv_create_cq(context_->Handle(), static_cast<int>(entries), this,
                      channel_ != nullptr ? channel_->Handle() : nullptr, static_cast<int>(vector));
  if (cq_ == nullptr) ThrowRdmaError(env_, "ibv_create_cq", errno ? errno : ENOMEM, std::to_string(entries) + " entries");
  AttachTo(context_, info[0].As<Napi::Object>());
  if (channel_ != nullptr) AttachTo(channel_, info[2].As<Napi::Object>());
}

CompletionQueue::~CompletionQueue() { Close(); }

void CompletionQueue::AckAll() {
  if (unacked_ > 0) ibv_ack_cq_events(cq_, unacked_);
  unacked_ = 0;
}

void CompletionQueue::NoteEvent() {
  if (++unacked_ >= kAckBatch) AckAll();
}

void CompletionQueue::Fire() {
  if (handler_.IsEmpty() || IsClosed()) return;
  try {
    handler_.MakeCallback(Value(), {});
  } catch (const Napi::Error& e) {
    // Nothing in C++ can handle it: surface it like any uncaught JS error.
    napi_fatal_exception(env_, e.Value());
  }
}

void CompletionQueue::Attach(QueuePair* qp) { qps_[qp->Qpn()] = qp; }

void CompletionQueue::Detach(QueuePair* qp) {
  auto it = qps_.find(qp->Qpn());
  if (it != qps_.end() && it->second == qp) qps_.erase(it);
  if (lastQp_ == qp) {
    lastQp_ = nullptr;
    lastQpn_ = UINT32_MAX;
  }
}

int CompletionQueue::Release() {
  if (cq_ == nullptr) return 0;
  if (channel_ != nullptr) {
    if (refed_) channel_->Unretain();
    channel_->Forget(this);
  }
  refed_ = false;
  AckAll();  // ibv_destroy_cq waits forever for unacked events
  int err = ibv_destroy_cq(cq_);
  cq_ = nullptr;
  handler_.Reset();
  ids_ = nullptr;
  fields_ = nullptr;
  idStore_.reset();
  fieldStore_.reset();
  return err;
}

Napi::Value CompletionQueue::GetSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cq_ != nullptr ? cq_->cqe : 0);
}

// bindBatch(ids: BigUint64Array, fields: Uint32Array): where poll() writes.
Napi::Value CompletionQueue::BindBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "CompletionQueue.bindBatch");
  Args args(info, "CompletionQueue.bindBatch");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array) {
    args.TypeError("ids must be a BigUint64Array");
  }
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    args.TypeError("fields must be a Uint32Array");
  }
  size_t idOffset = 0, fieldOffset = 0;
  auto idStore = ViewStore(info[0], &idOffset);
  auto fieldStore = ViewStore(info[1], &fieldOffset);
  if (!idStore || !fieldStore) args.TypeError("batch arrays must not be detached or resizable");
  size_t capacity = info[0].As<Napi::BigUint64Array>().ElementLength();
  capacity = std::min(capacity, info[1].As<Napi::Uint32Array>().ElementLength() / kWcFieldCount);
  ids_ = reinterpret_cast<uint64_t*>(static_cast<uint8_t*>(idStore->Data()) + idOffset);
  fields_ = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(fieldStore->Data()) + fieldOffset);
  idStore_ = std::move(idStore);
  fieldStore_ = std::move(fieldStore);
  capacity_ = static_cast<uint32_t>(std::min<size_t>(capacity, INT32_MAX));
  return env.Undefined();
}

// poll(max, spinUs = 0) -> count: up to `max` completions into the bound
// batch. With spinUs, an empty CQ is polled again here (no JS crossing per
// try) until something arrives or spinUs pass. Never allocates JS objects.
Napi::Value CompletionQueue::Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_poll_cq");
  Args args(info, "ibv_poll_cq");
  if (ids_ == nullptr) args.TypeError("no batch is bound");
  uint32_t max = args.Uint32(0, "max", 0, capacity_);
  uint32_t spinUs = args.Has(1) ? args.Uint32(1, "spinUs", 0, kMaxSpinUs) : 0;
  uint32_t total = Drain(env, max);
  if (total == 0 && spinUs > 0 && max > 0) {
    // The clock is dear in some VMs (hpet, no vDSO: ~5 us a read): read it
    // only every kSpinChecks empty polls, so a short wait never reads it,
    // and start the bound at the first read (a spin lasts kSpinChecks polls
    // longer than asked).
    int64_t deadline = -1;
    for (;;) {
      for (int i = 0; i < kSpinChecks && total == 0; i++) total = Drain(env, max);
      if (total > 0) break;
      timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t ns = now.tv_sec * 1000000000LL + now.tv_nsec;
      if (deadline < 0) {
        deadline = ns + static_cast<int64_t>(spinUs) * 1000;
      } else if (ns >= deadline) {
        break;
      }
    }
  }
  return Napi::Number::New(env, total);
}

uint32_t CompletionQueue::Drain(Napi::Env env, uint32_t max) {
  uint64_t* idOut = ids_;
  uint32_t* f = fields_;
  ibv_wc wc[kPollChunk];
  uint32_t total = 0;
  while (total < max) {
    int want = static_cast<int>(std::min<uint32_t>(max - total, kPollChunk));
    int n = ibv_poll_cq(cq_, want, wc);
    if (n < 0) ThrowRdmaError(env, "ibv_poll_cq", n == -1 ? EIO : -n);
    for (int i = 0; i < n; i++, total++) {
      const ibv_wc& w = wc[i];
      uint32_t* o = f + static_cast<size_t>(total) * kWcFieldCount;
      if (w.qp_num != lastQpn_) {
        auto it = qps_.find(w.qp_num);
        lastQp_ = it != qps_.end() ? it->second : nullptr;
        lastQpn_ = w.qp_num;
      }
      // A completion of a QP closed since keeps its internal wr_id.
      idOut[total] = lastQp_ != nullptr ? lastQp_->Complete(w.wr_id) : w.wr_id;
      o[kWcStatus] = w.status;
      o[kWcOpcode] = w.opcode;
      o[kWcVendorErr] = w.vendor_err;
      o[kWcByteLen] = w.byte_len;
      o[kWcImm] = (w.wc_flags & IBV_WC_WITH_IMM) ? ntohl(w.imm_data) : 0;
      o[kWcQpNum] = w.qp_num;
      o[kWcSrcQp] = w.src_qp;
      o[kWcFlags] = w.wc_flags;
      o[kWcPkeyIndex] = w.pkey_index;
      o[kWcSlid] = w.slid;
      o[kWcSl] = w.sl;
      o[kWcDlidPathBits] = w.dlid_path_bits;
    }
    if (n < want) break;
  }
  return total;
}

Napi::Value CompletionQueue::RequestNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_req_notify_cq");
  Args args(info, "ibv_req_notify_cq");
  if (channel_ == nullptr) ThrowRdmaError(env, "ibv_req_notify_cq", EINVAL, "the CQ was created without a completion channel");
  bool solicitedOnly = args.Has(0) ? args.Bool(0, "solicitedOnly") : false;
  int err = ibv_req_notify_cq(cq_, solicitedOnly ? 1 : 0);
  if (err != 0) ThrowRdmaError(env, "ibv_req_notify_cq", err);
  return env.Undefined();
}

// arm(max) -> count: ibv_req_notify_cq, then a poll of up to `max` into the
// bound batch. Completions that landed before arming raise no event, so a
// waiter must look once more after arming: one crossing for both.
Napi::Value CompletionQueue::Arm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_req_notify_cq");
  Args args(info, "ibv_req_notify_cq");
  if (channel_ == nullptr) ThrowRdmaError(env, "ibv_req_notify_cq", EINVAL, "the CQ was created without a completion channel");
  if (ids_ == nullptr) args.TypeError("no batch is bound");
  uint32_t max = args.Uint32(0, "max", 0, capacity_);
  int err = ibv_req_notify_cq(cq_, 0);
  if (err != 0) ThrowRdmaError(env, "ibv_req_notify_cq", err);
  return Napi::Number::New(env, Drain(env, max));
}

Napi::Value CompletionQueue::SetHandler(const Napi::CallbackInfo& info) {
  Args args(info, "CompletionQueue.setHandler");
  CheckOpen(info.Env(), "CompletionQueue.setHandler");
  if (args.Has(0)) {
    handler_ = Napi::Persistent(args.Function(0, "handler"));
  } else {
    handler_.Reset();
  }
  return info.Env().Undefined();
}

// While ref'd (somebody awaits a completion) the channel keeps the loop alive.
Napi::Value CompletionQueue::Ref(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "CompletionQueue.ref");
  if (channel_ != nullptr && !refed_) {
    refed_ = true;
    channel_->Retain();
  }
  return info.Env().Undefined();
}

Napi::Value CompletionQueue::Unref(const Napi::CallbackInfo& info) {
  if (channel_ != nullptr && refed_) {
    refed_ = false;
    channel_->Unretain();
  }
  return info.Env().Undefined();
}

}  // namespace rdmajs
