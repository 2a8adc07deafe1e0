// Shared pieces of the addon: the Resource base class (parent/child lifetimes),
// RdmaError construction, and argument checking.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace rdmajs {

class Context;
class Resource;

// Per-environment state (worker threads each get their own).
struct AddonData {
  Napi::FunctionReference errorClass;  // RdmaError from the TS layer, if set
  Napi::FunctionReference contextCtor;
  Napi::FunctionReference pdCtor;
  Napi::FunctionReference mrCtor;
  Napi::FunctionReference channelCtor;
  Napi::FunctionReference cqCtor;
  Napi::FunctionReference qpCtor;
  Napi::FunctionReference srqCtor;
  Napi::FunctionReference ahCtor;
  Napi::FunctionReference mwCtor;
  Napi::FunctionReference cmChannelCtor;
  Napi::FunctionReference cmIdCtor;
  std::unordered_set<Context*> contexts;  // open contexts, closed at env teardown
  std::unordered_set<Resource*> cmChannels;  // open rdma_cm channels, likewise
  // libuv handles being closed. Teardown is an async cleanup hook that Node
  // waits for, so no close callback (our code) runs after the addon is
  // unloaded (a worker exiting unloads it).
  int pendingCloses = 0;
  napi_async_cleanup_hook_handle teardown = nullptr;
};

// Closes a heap-allocated libuv handle, deleting it (and, during teardown,
// letting Node finish) once libuv is done with it.
void CloseUvHandle(Napi::Env env, uv_handle_t* handle);

AddonData* GetData(Napi::Env env);

// Closing order: a resource's dependents are closed before it, lowest kind
// first, so e.g. a PD closes its QPs before its MRs.
enum class Kind : int {
  QueuePair = 0,
  SharedReceiveQueue = 1,
  MemoryWindow = 2,
  AddressHandle = 3,
  MemoryRegion = 4,
  CompletionQueue = 5,
  CompletionChannel = 6,
  ProtectionDomain = 7,
  Context = 8,
  CmId = 9,
  CmEventChannel = 10,
};

// Base of every wrapped verbs object. A child holds a strong reference to each
// parent's JS object (so a parent is never collected under a live child) and
// the parent keeps a raw pointer to the child so close() can cascade.
class Resource {
 public:
  Resource(Kind kind, const char* typeName) : kind_(kind), typeName_(typeName) {}
  virtual ~Resource() = default;
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;

  bool IsClosed() const { return closed_; }
  Kind GetKind() const { return kind_; }
  const char* TypeName() const { return typeName_; }

  // Closes dependents first, then releases the handle. Harmless when already
  // closed. Returns the errno of this object's own release (0 on success).
  int Close();

  // Throws EBADF naming `verb` if closed.
  void CheckOpen(Napi::Env env, const char* verb) const;

 protected:
  void AttachTo(Resource* parent, Napi::Object parentObject);
  // Frees the verbs handle. Must not call into JS (runs in finalizers too).
  virtual int Release() = 0;

 private:
  void RemoveDependent(Resource* child);

  Kind kind_;
  const char* typeName_;
  bool closed_ = false;
  std::vector<Resource*> dependents_;
  std::vector<std::pair<Resource*, Napi::ObjectReference>> parents_;
};

// Builds an RdmaError: message "<verb>: <strerror> (<CODE>)[: detail]" with
// code, errno and syscall properties, like Node's system errors.
Napi::Error MakeRdmaError(Napi::Env env, const char* verb, int err,
                          const std::string& detail = std::string());
[[noreturn]] void ThrowRdmaError(Napi::Env env, const char* verb, int err,
                                 const std::string& detail = std::string());

// Argument checks for one native method call. Each getter throws a TypeError
// or RangeError naming the method and the argument.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* method) : info_(info), method_(method) {}

  Napi::Env Env() const { return info_.Env(); }
  size_t Length() const { return info_.Length(); }
  bool Has(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined() && !info_[i].IsNull(); }

  Napi::Object Object(size_t i, const char* name) const;
  Napi::Function Function(size_t i, const char* name) const;
  std::string String(size_t i, const char* name) const;
  bool Bool(size_t i, const char* name) const;
  uint32_t Uint32(size_t i, const char* name, uint32_t min = 0, uint32_t max = UINT32_MAX) const;
  int32_t Int32(size_t i, const char* name, int32_t min, int32_t max) const;

  // Unwraps a native object of class T (checked with instanceof), open.
  template <typename T>
  T* Wrapped(size_t i, const char* name, const Napi::FunctionReference& ctor) const {
    Napi::Value v = i < info_.Length() ? info_[i] : Env().Undefined();
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor.Value())) {
      throw Napi::TypeError::New(Env(), Prefix() + name + " must be a " + T::kTypeName);
    }
    T* obj = T::Unwrap(v.As<Napi::Object>());
    obj->CheckOpen(Env(), method_);
    return obj;
  }

  [[noreturn]] void TypeError(const std::string& what) const;
  [[noreturn]] void RangeError(const std::string& what) const;

  const char* Method() const { return method_; }

 private:
  std::string Prefix() const { return std::string(method_) + ": "; }
  const Napi::CallbackInfo& info_;
  const char* method_;
};

// Reads optional numeric properties from an options object with range checks.
class Props {
 public:
  Props(Napi::Object obj, const char* method) : obj_(obj), method_(method) {}
  bool Has(const char* key) const;
  uint32_t Uint32(const char* key, uint32_t dflt, uint32_t min = 0, uint32_t max = UINT32_MAX) const;
  bool Bool(const char* key, bool dflt) const;
  uint64_t BigUint64(const char* key, uint64_t dflt) const;
  Napi::Value Get(const char* key) const { return obj_.Get(key); }
  Napi::Object Object(const char* key) const;  // throws unless an object

 private:
  [[noreturn]] void Fail(bool range, const std::string& what) const;
  Napi::Object obj_;
  const char* method_;
};

// A 16-byte GID as a Buffer, and back.
Napi::Value GidToBuffer(Napi::Env env, const uint8_t raw[16]);
void BufferToGid(const Args& args, Napi::Value v, const char* name, uint8_t out[16]);

}  // namespace rdmajs
