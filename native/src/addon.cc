// Module entry: registers the wrapper classes, exports the ibv_* constants the
// TS layer maps to string unions and the record layouts (layouts.h), and closes leftovers at environment teardown.
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "completion_channel.h"
#include "completion_queue.h"
#include "context.h"
#include "memory_region.h"
#include "protection_domain.h"
#include "queue_pair.h"
#include "shared_receive_queue.h"
#include "address_handle.h"
#include "memory_window.h"
#include "cm_event_channel.h"
#include "cm_id.h"
#include "layouts.h"

namespace rdmajs {

namespace {

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("QP_TYPE", Named(env, {{"RC", IBV_QPT_RC}, {"UC", IBV_QPT_UC}, {"UD", IBV_QPT_UD}}));
  c.Set("QP_STATE", Named(env, {{"RESET", IBV_QPS_RESET}, {"INIT", IBV_QPS_INIT}, {"RTR", IBV_QPS_RTR},
                               {"RTS", IBV_QPS_RTS}, {"SQD", IBV_QPS_SQD}, {"SQE", IBV_QPS_SQE}, {"ERR", IBV_QPS_ERR}}));
  c.Set("MTU", Named(env, {{"256", IBV_MTU_256}, {"512", IBV_MTU_512}, {"1024", IBV_MTU_1024},
                          {"2048", IBV_MTU_2048}, {"4096", IBV_MTU_4096}}));
  c.Set("ACCESS", Named(env, {{"LOCAL_WRITE", IBV_ACCESS_LOCAL_WRITE}, {"REMOTE_WRITE", IBV_ACCESS_REMOTE_WRITE},
                             {"REMOTE_READ", IBV_ACCESS_REMOTE_READ}, {"REMOTE_ATOMIC", IBV_ACCESS_REMOTE_ATOMIC},
                             {"MW_BIND", IBV_ACCESS_MW_BIND}, {"ZERO_BASED", IBV_ACCESS_ZERO_BASED},
                             {"ON_DEMAND", IBV_ACCESS_ON_DEMAND}, {"RELAXED_ORDERING", IBV_ACCESS_RELAXED_ORDERING}}));
  c.Set("WR_OPCODE", Named(env, {{"RDMA_WRITE", IBV_WR_RDMA_WRITE}, {"RDMA_WRITE_WITH_IMM", IBV_WR_RDMA_WRITE_WITH_IMM},
                                {"SEND", IBV_WR_SEND}, {"SEND_WITH_IMM", IBV_WR_SEND_WITH_IMM},
                                {"RDMA_READ", IBV_WR_RDMA_READ}, {"ATOMIC_CMP_AND_SWP", IBV_WR_ATOMIC_CMP_AND_SWP},
                                {"ATOMIC_FETCH_AND_ADD", IBV_WR_ATOMIC_FETCH_AND_ADD}}));
  c.Set("SEND_FLAGS", Named(env, {{"FENCE", IBV_SEND_FENCE}, {"SIGNALED", IBV_SEND_SIGNALED},
                                 {"SOLICITED", IBV_SEND_SOLICITED}, {"INLINE", IBV_SEND_INLINE}}));
  c.Set("WC_OPCODE", Named(env, {{"SEND", IBV_WC_SEND}, {"RDMA_WRITE", IBV_WC_RDMA_WRITE}, {"RDMA_READ", IBV_WC_RDMA_READ},
                                {"COMP_SWAP", IBV_WC_COMP_SWAP}, {"FETCH_ADD", IBV_WC_FETCH_ADD}, {"BIND_MW", IBV_WC_BIND_MW},
                                {"LOCAL_INV", IBV_WC_LOCAL_INV}, {"RECV", IBV_WC_RECV},
                                {"RECV_RDMA_WITH_IMM", IBV_WC_RECV_RDMA_WITH_IMM}}));
  c.Set("WC_FLAGS", Named(env, {{"GRH", IBV_WC_GRH}, {"WITH_IMM", IBV_WC_WITH_IMM}, {"IP_CSUM_OK", IBV_WC_IP_CSUM_OK},
                               {"WITH_INV", IBV_WC_WITH_INV}}));
  Napi::Object status = Napi::Object::New(env);
  for (uint32_t s = IBV_WC_SUCCESS; s <= IBV_WC_TM_RNDV_INCOMPLETE; s++) {
    status.Set(s, ibv_wc_status_str(static_cast<ibv_wc_status>(s)));
  }
  c.Set("WC_STATUS_TEXT", status);
  c.Set("WC_STATUS", Named(env, {{"SUCCESS", IBV_WC_SUCCESS}, {"LOC_LEN_ERR", IBV_WC_LOC_LEN_ERR},
                                {"LOC_QP_OP_ERR", IBV_WC_LOC_QP_OP_ERR}, {"LOC_EEC_OP_ERR", IBV_WC_LOC_EEC_OP_ERR},
                                {"LOC_PROT_ERR", IBV_WC_LOC_PROT_ERR}, {"WR_FLUSH_ERR", IBV_WC_WR_FLUSH_ERR},
                                {"MW_BIND_ERR", IBV_WC_MW_BIND_ERR}, {"BAD_RESP_ERR", IBV_WC_BAD_RESP_ERR},
                                {"LOC_ACCESS_ERR", IBV_WC_LOC_ACCESS_ERR}, {"REM_INV_REQ_ERR", IBV_WC_REM_INV_REQ_ERR},
                                {"REM_ACCESS_ERR", IBV_WC_REM_ACCESS_ERR}, {"REM_OP_ERR", IBV_WC_REM_OP_ERR},
                                {"RETRY_EXC_ERR", IBV_WC_RETRY_EXC_ERR}, {"RNR_RETRY_EXC_ERR", IBV_WC_RNR_RETRY_EXC_ERR},
                                {"LOC_RDD_VIOL_ERR", IBV_WC_LOC_RDD_VIOL_ERR}, {"REM_INV_RD_REQ_ERR", IBV_WC_REM_INV_RD_REQ_ERR},
                                {"REM_ABORT_ERR", IBV_WC_REM_ABORT_ERR}, {"INV_EECN_ERR", IBV_WC_INV_EECN_ERR},
                                {"INV_EEC_STATE_ERR", IBV_WC_INV_EEC_STATE_ERR}, {"FATAL_ERR", IBV_WC_FATAL_ERR},
                                {"RESP_TIMEOUT_ERR", IBV_WC_RESP_TIMEOUT_ERR}, {"GENERAL_ERR", IBV_WC_GENERAL_ERR},
                                {"TM_ERR", IBV_WC_TM_ERR}, {"TM_RNDV_INCOMPLETE", IBV_WC_TM_RNDV_INCOMPLETE}}));
  c.Set("ADVISE_MR", Named(env, {{"PREFETCH", IBV_ADVISE_MR_ADVICE_PREFETCH},
                                 {"PREFETCH_WRITE", IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE},
                                 {"PREFETCH_NO_FAULT", IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT}}));
  c.Set("ADVISE_MR_FLAGS", Named(env, {{"FLUSH", IBV_ADVISE_MR_FLAG_FLUSH}}));
  c.Set("PORT_SPACE", Named(env, {{"TCP", RDMA_PS_TCP}, {"UDP", RDMA_PS_UDP}}));
  ExportLayouts(env, c);
  return c;
}

// Exports wrapper class T and keeps its constructor for instanceof checks.
template <typename T>
void Register(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = T::Init(env);
  GetData(env)->ctors[static_cast<int>(T::kKind)] = Napi::Persistent(ctor);
  exports.Set(KindName(T::kKind), ctor);
}

// setErrorClass(RdmaError): errors thrown natively are built with it.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Args args(info, "setErrorClass");
  GetData(info.Env())->errorClass = Napi::Persistent(args.Function(0, "errorClass"));
  return info.Env().Undefined();
}

Napi::Value ForkInit(const Napi::CallbackInfo& info) {
  int err = ibv_fork_init();
  if (err != 0) ThrowRdmaError(info.Env(), "ibv_fork_init", err);
  return info.Env().Undefined();
}

// Closes every open context (and so, in order, everything under it) before
// the environment goes away, so no verbs handle outlives its JS world. Async:
// Node waits until the libuv handles this closes are gone.
void Teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  while (!data->contexts.empty()) (*data->contexts.begin())->Close();
  while (!data->cmChannels.empty()) (*data->cmChannels.begin())->Close();
  if (data->pendingCloses == 0) {
    napi_remove_async_cleanup_hook(handle);
  } else {
    data->teardown = handle;
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  if (napi_add_async_cleanup_hook(env, Teardown, data, nullptr) != napi_ok) {
    throw Napi::Error::New(env, "rdmajs: cannot register the environment cleanup hook");
  }

  Register<Context>(env, exports);
  Register<ProtectionDomain>(env, exports);
  Register<MemoryRegion>(env, exports);
  Register<CompletionChannel>(env, exports);
  Register<CompletionQueue>(env, exports);
  Register<QueuePair>(env, exports);
  Register<SharedReceiveQueue>(env, exports);
  Register<AddressHandle>(env, exports);
  Register<MemoryWindow>(env, exports);
  Register<CmEventChannel>(env, exports);
  Register<CmId>(env, exports);
  exports.Set("constants", Constants(env));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("forkInit", Napi::Function::New(env, ForkInit, "forkInit"));
  return exports;
}

}  // namespace

}  // namespace rdmajs

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return rdmajs::Init(env, exports); }

NODE_API_MODULE(rdmajs, InitModule)
