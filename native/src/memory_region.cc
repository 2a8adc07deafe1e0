#include "memory_region.h"

#include <cerrno>
#include <cstring>

#include "protection_domain.h"
#include "v8_bridge.h"

namespace rdmajs {

namespace {

// Memory we refuse to register no matter what the TS layer allowed through.
struct Target {
  std::shared_ptr<v8::BackingStore> store;
  uint8_t* data = nullptr;
  size_t length = 0;
};

Target Resolve(const Args& args, Napi::Value value) {
  v8::Local<v8::Value> v = ToV8(value);
  Target t;
  size_t offset = 0;
  if (v->IsArrayBufferView()) {
    auto view = v.As<v8::ArrayBufferView>();
    auto buf = view->Buffer();
    t.store = buf->GetBackingStore();
    offset = view->ByteOffset();
    t.length = view->ByteLength();
    if (buf->WasDetached()) args.TypeError("buffer is detached");
  } else if (v->IsArrayBuffer()) {
    auto buf = v.As<v8::ArrayBuffer>();
    if (buf->WasDetached()) args.TypeError("buffer is detached");
    t.store = buf->GetBackingStore();
    t.length = buf->ByteLength();
  } else if (v->IsSharedArrayBuffer()) {
    auto buf = v.As<v8::SharedArrayBuffer>();
    t.store = buf->GetBackingStore();
    t.length = buf->ByteLength();
  } else {
    args.TypeError("buffer must be a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer");
  }
  // A resizable buffer can shrink and decommit pages the NIC still maps.
  if (t.store->IsResizableByUserJavaScript()) args.TypeError("buffer is resizable; register a fixed-length buffer");
  if (t.length == 0 || t.store->Data() == nullptr) args.RangeError("buffer must not be empty");
  t.data = static_cast<uint8_t*>(t.store->Data()) + offset;
  return t;
}

}  // namespace

Napi::Function MemoryRegion::Init(Napi::Env env) {
  return Define(env, {
      InstanceAccessor<&MemoryRegion::GetAddress>("address"),
      InstanceAccessor<&MemoryRegion::GetLength>("length"),
      InstanceAccessor<&MemoryRegion::GetLkey>("lkey"),
      InstanceAccessor<&MemoryRegion::GetRkey>("rkey"),
      InstanceAccessor<&MemoryRegion::GetHolds>("inflight"),
  });
}

// new MemoryRegion(pd, buffer, accessFlags)
MemoryRegion::MemoryRegion(const Napi::CallbackInfo& info) : Wrapped(info) {
  Args args(info, "ibv_reg_mr");
  pd_ = args.Wrapped<ProtectionDomain>(0, "pd");
  if (args.Length() < 2) args.TypeError("buffer is required");
  Target t = Resolve(args, info[1]);
  uint32_t access = args.Uint32(2, "access", 0, 0xffff);

  mr_ = ibv_reg_mr(pd_->Handle(), t.data, t.length, static_cast<int>(access));
  if (mr_ == nullptr) {
    int err = errno ? errno : ENOMEM;
    ThrowRdmaError(info.Env(), "ibv_reg_mr", err,
                   err == ENOMEM || err == EPERM ? "cannot pin memory; raise the locked-memory limit (ulimit -l)" : "");
  }
  store_ = std::move(t.store);
  lkey_ = mr_->lkey;
  rkey_ = mr_->rkey;
  address_ = reinterpret_cast<uintptr_t>(t.data);
  length_ = t.length;
  pd_->AddRegion(lkey_, this);
  AttachTo(pd_, info[0].As<Napi::Object>());
}

MemoryRegion::~MemoryRegion() { Close(); }

int MemoryRegion::Release() {
  if (mr_ == nullptr) return 0;
  pd_->RemoveRegion(lkey_);
  int err = ibv_dereg_mr(mr_);
  mr_ = nullptr;
  if (err != 0) {
    // The NIC may still map these pages: leak the memory rather than free it.
    new std::shared_ptr<v8::BackingStore>(std::move(store_));
    return err;
  }
  store_.reset();
  return 0;
}

Napi::Value MemoryRegion::GetAddress(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), address_); }
Napi::Value MemoryRegion::GetLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(length_));
}
Napi::Value MemoryRegion::GetLkey(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), lkey_); }
Napi::Value MemoryRegion::GetRkey(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), rkey_); }

Napi::Value MemoryRegion::GetHolds(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), holds_); }

// Work in flight still uses the region: close() is refused until it is reaped
// (a parent's cascade still closes it).
void MemoryRegion::CheckClosable(Napi::Env env) const {
  if (holds_ > 0) {
    ThrowRdmaError(env, "ibv_dereg_mr", EBUSY,
                   std::to_string(holds_) +
                       " posted work request(s) or shared receive queue(s) still use this region; reap their "
                       "completions or close the queue pair / SRQ first");
  }
}

}  // namespace rdmajs
