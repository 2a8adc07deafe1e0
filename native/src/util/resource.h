// Resource: the lifetime half of every wrapped verbs object. A child holds a
// strong reference to each parent's JS object (so a parent is never collected
// under a live child) and the parent keeps a raw pointer to the child so
// close() can cascade, dependents first. A JS close() then tells each object
// it closed (through its optional onClosed function), so a wrapper learns of
// a cascade without polling.
#pragma once

#include <napi.h>

#include <utility>
#include <vector>

namespace rdmajs {

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
constexpr int kKindCount = 11;

// A kind's JS class name (errors say it too) and the verb that frees its
// handle (named when close() fails).
const char* KindName(Kind kind);
const char* ReleaseVerb(Kind kind);

class Resource {
 public:
  explicit Resource(Kind kind) : kind_(kind) {}
  virtual ~Resource() = default;
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;

  bool IsClosed() const { return closed_; }
  Kind GetKind() const { return kind_; }
  const char* TypeName() const { return KindName(kind_); }

  // Closes dependents first, then releases the handle. Harmless when already
  // closed. Returns the errno of this object's own release (0 on success).
  // `closed`, when given, collects every object this call closed, for
  // NotifyClosed (Release and finalizers must not call into JS).
  int Close(std::vector<Resource*>* closed = nullptr);

  // Calls the onClosed function of each of `closed` (with its JS object as
  // `this`), once. Only from a JS call; stops at the first exception.
  static void NotifyClosed(Napi::Env env, const std::vector<Resource*>& closed);

  // Throws EBADF naming `verb` if closed.
  void CheckOpen(Napi::Env env, const char* verb) const;

 protected:
  void AttachTo(Resource* parent, Napi::Object parentObject);
  // Frees the verbs handle. Must not call into JS (runs in finalizers too).
  virtual int Release() = 0;
  // This object's JS object; empty once collected.
  virtual Napi::Object Self() = 0;
  void SetOnClosed(Napi::Function fn) { onClosed_ = fn.IsEmpty() ? Napi::FunctionReference() : Napi::Persistent(fn); }

 private:
  void RemoveDependent(Resource* child);

  Kind kind_;
  bool closed_ = false;
  std::vector<Resource*> dependents_;
  std::vector<std::pair<Resource*, Napi::ObjectReference>> parents_;
  Napi::FunctionReference onClosed_;
};

}  // namespace rdmajs
