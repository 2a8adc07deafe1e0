// CmId: one rdma_cm endpoint (rdma_cm_id): address and route resolution,
// listen, connect/accept/reject, disconnect. QPs are the caller's own
// (created with ibv_create_qp); rdma_init_qp_attr supplies the attributes for
// each state transition and conn_param.qp_num names the QP to the peer.
#pragma once

#include <rdma/rdma_cma.h>

#include "util/wrapped.h"

namespace rdmajs {

class CmEventChannel;

class CmId : public Wrapped<CmId> {
 public:
  static constexpr Kind kKind = Kind::CmId;
  static Napi::Function Init(Napi::Env env);

  // new CmId(channel, portSpace) from JS; new CmId(channel, External<id>)
  // from the event channel for an incoming connection request.
  explicit CmId(const Napi::CallbackInfo& info);
  ~CmId() override;

  rdma_cm_id* Handle() const { return id_; }

 protected:
  int Release() override;

 private:
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetPort(const Napi::CallbackInfo& info);
  Napi::Value GetLocalAddress(const Napi::CallbackInfo& info);
  Napi::Value GetRemoteAddress(const Napi::CallbackInfo& info);
  Napi::Value BindAddr(const Napi::CallbackInfo& info);
  Napi::Value ResolveAddr(const Napi::CallbackInfo& info);
  Napi::Value ResolveRoute(const Napi::CallbackInfo& info);
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value InitQpAttr(const Napi::CallbackInfo& info);
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Accept(const Napi::CallbackInfo& info);
  Napi::Value Reject(const Napi::CallbackInfo& info);
  Napi::Value Establish(const Napi::CallbackInfo& info);
  Napi::Value Disconnect(const Napi::CallbackInfo& info);

  rdma_cm_id* id_ = nullptr;
};

}  // namespace rdmajs
