#include "resource.h"

#include <algorithm>
#include <cerrno>
#include <string>

#include "errors.h"

namespace rdmajs {

namespace {

struct KindInfo {
  const char* name;
  const char* releaseVerb;
};

// In Kind order.
constexpr KindInfo kKinds[] = {
    {"QueuePair", "ibv_destroy_qp"},
    {"SharedReceiveQueue", "ibv_destroy_srq"},
    {"MemoryWindow", "ibv_dealloc_mw"},
    {"AddressHandle", "ibv_destroy_ah"},
    {"MemoryRegion", "ibv_dereg_mr"},
    {"CompletionQueue", "ibv_destroy_cq"},
    {"CompletionChannel", "ibv_destroy_comp_channel"},
    {"ProtectionDomain", "ibv_dealloc_pd"},
    {"Context", "ibv_close_device"},
    {"CmId", "rdma_destroy_id"},
    {"CmEventChannel", "rdma_destroy_event_channel"},
};
static_assert(sizeof(kKinds) / sizeof(kKinds[0]) == kKindCount, "one entry per Kind");

}  // namespace

const char* KindName(Kind kind) { return kKinds[static_cast<int>(kind)].name; }
const char* ReleaseVerb(Kind kind) { return kKinds[static_cast<int>(kind)].releaseVerb; }

int Resource::Close(std::vector<Resource*>* closed) {
  if (closed_) return 0;
  // Dependents remove themselves from dependents_ as they close.
  while (!dependents_.empty()) {
    auto it = std::min_element(dependents_.begin(), dependents_.end(), [](Resource* a, Resource* b) {
      return static_cast<int>(a->kind_) < static_cast<int>(b->kind_);
    });
    (*it)->Close(closed);
  }
  int err = Release();
  closed_ = true;
  if (closed != nullptr && !onClosed_.IsEmpty()) closed->push_back(this);
  for (auto& parent : parents_) {
    parent.first->RemoveDependent(this);
    parent.second.Reset();
  }
  parents_.clear();
  return err;
}

void Resource::NotifyClosed(Napi::Env env, const std::vector<Resource*>& closed) {
  Napi::HandleScope scope(env);
  // Take every function and object first: local handles keep them alive, so
  // a callback that lets another object be collected cannot free what the
  // loop still reads.
  std::vector<std::pair<Napi::Function, Napi::Object>> calls;
  for (Resource* r : closed) {
    Napi::Object self = r->Self();
    if (!self.IsEmpty()) calls.emplace_back(r->onClosed_.Value(), self);
    r->onClosed_.Reset();
  }
  for (auto& call : calls) {
    call.first.Call(call.second, {});
    if (env.IsExceptionPending()) return;
  }
}

void Resource::CheckOpen(Napi::Env env, const char* verb) const {
  if (closed_) ThrowRdmaError(env, verb, EBADF, std::string(TypeName()) + " is closed");
}

void Resource::AttachTo(Resource* parent, Napi::Object parentObject) {
  parent->dependents_.push_back(this);
  parents_.emplace_back(parent, Napi::Persistent(parentObject));
}

void Resource::RemoveDependent(Resource* child) {
  auto it = std::find(dependents_.begin(), dependents_.end(), child);
  if (it != dependents_.end()) {
    *it = dependents_.back();
    dependents_.pop_back();
  }
}

}  // namespace rdmajs
