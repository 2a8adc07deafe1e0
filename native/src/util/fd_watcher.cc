#include "fd_watcher.h"

#include <fcntl.h>

#include <cerrno>
#include <string>

#include "addon_data.h"
#include "errors.h"

namespace rdmajs {

namespace {

// Closes the handle, deleting it (and, during teardown, letting Node finish)
// once libuv is done with it.
void CloseHandle(Napi::Env env, uv_poll_t* poll) {
  AddonData* data = GetData(env);
  data->pendingCloses++;
  poll->data = data;
  uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* h) {
    auto* d = static_cast<AddonData*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    if (--d->pendingCloses == 0 && d->teardown != nullptr) {
      napi_remove_async_cleanup_hook(d->teardown);
      d->teardown = nullptr;
    }
  });
}

}  // namespace

void FdWatcher::Start(Napi::Env env, int fd, const char* what, Callback cb, void* owner) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no libuv loop");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    ThrowRdmaError(env, "fcntl", errno, std::string("making ") + what + " non-blocking");
  }
  auto* poll = new uv_poll_t;
  int err = uv_poll_init(loop, poll, fd);
  if (err != 0) {
    delete poll;  // never initialised: nothing for libuv to close
    ThrowRdmaError(env, "uv_poll_init", -err);
  }
  err = uv_poll_start(poll, UV_READABLE, OnReadable);
  if (err != 0) {
    CloseHandle(env, poll);
    ThrowRdmaError(env, "uv_poll_start", -err);
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(poll));
  poll->data = this;
  env_ = env;
  poll_ = poll;
  cb_ = cb;
  owner_ = owner;
}

void FdWatcher::SetRef(bool ref) {
  if (poll_ == nullptr) return;
  if (ref) {
    uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  } else {
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
}

void FdWatcher::Pause() {
  if (poll_ != nullptr) uv_poll_stop(poll_);
}

void FdWatcher::Stop() {
  if (poll_ == nullptr) return;
  CloseHandle(Napi::Env(env_), poll_);
  poll_ = nullptr;
}

void FdWatcher::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<FdWatcher*>(handle->data);
  self->cb_(self->owner_, status);
}

}  // namespace rdmajs
