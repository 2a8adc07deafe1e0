// The one place the addon reaches below N-API: ArrayBuffer backing stores.
// Holding a std::shared_ptr<v8::BackingStore> keeps memory alive even if JS
// detaches or transfers the ArrayBuffer, which napi references cannot do.
#pragma once

#include <napi.h>
#include <v8.h>

#include <cstring>
#include <memory>

namespace rdmajs {

// napi_value is a v8::Local under the hood (node's own v8impl makes the same cast).
inline v8::Local<v8::Value> ToV8(napi_value v) {
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(v), "napi_value must be a v8::Local");
  std::memcpy(static_cast<void*>(&local), &v, sizeof(v));
  return local;
}

// The backing store of a plain (non-shared, non-resizable) ArrayBuffer, or null.
inline std::shared_ptr<v8::BackingStore> FixedArrayBufferStore(napi_value v) {
  v8::Local<v8::Value> local = ToV8(v);
  if (!local->IsArrayBuffer()) return nullptr;
  auto buf = local.As<v8::ArrayBuffer>();
  if (buf->WasDetached()) return nullptr;
  auto store = buf->GetBackingStore();
  if (store->IsResizableByUserJavaScript() || store->Data() == nullptr) return nullptr;
  return store;
}

// The backing store under a typed array (and the view's byte offset), or
// null when the array is detached or resizable.
inline std::shared_ptr<v8::BackingStore> ViewStore(napi_value v, size_t* byteOffset) {
  v8::Local<v8::Value> local = ToV8(v);
  if (!local->IsArrayBufferView()) return nullptr;
  auto view = local.As<v8::ArrayBufferView>();
  auto buf = view->Buffer();
  if (buf->WasDetached()) return nullptr;
  auto store = buf->GetBackingStore();
  if (store->IsResizableByUserJavaScript() || store->Data() == nullptr) return nullptr;
  *byteOffset = view->ByteOffset();
  return store;
}

}  // namespace rdmajs
