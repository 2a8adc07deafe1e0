// Exports the record layouts of layouts.h by name, for the TS layer to read
// once at load (native/index.d.ts declares the objects).
#include "layouts.h"

namespace rdmajs {

Napi::Object Named(Napi::Env env, std::initializer_list<std::pair<const char*, uint32_t>> items) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& it : items) o.Set(it.first, it.second);
  return o;
}

void ExportLayouts(Napi::Env env, Napi::Object c) {
  c.Set("SEND_SLOT", Named(env, {{"WR_ID", kSendWrId}, {"REMOTE_ADDR", kSendRemoteAddr}, {"COMPARE_ADD", kSendCompareAdd},
                                 {"SWAP", kSendSwap}, {"OPCODE", kSendOpcode}, {"FLAGS", kSendFlags}, {"IMM", kSendImm},
                                 {"RKEY", kSendRkey}, {"NUM_SGE", kSendNumSge}, {"AH_ID", kSendAhId},
                                 {"REMOTE_OFFSET", kSendRemoteOffset}, {"REMOTE_QPN", kSendRemoteQpn},
                                 {"REMOTE_QKEY", kSendRemoteQkey}, {"BYTES", kSendHeaderBytes}}));
  c.Set("RECV_SLOT", Named(env, {{"WR_ID", kRecvWrId}, {"NUM_SGE", kRecvNumSge}, {"BYTES", kRecvHeaderBytes}}));
  c.Set("SGE", Named(env, {{"BASE", kSgeBase}, {"OFFSET", kSgeOffset}, {"LENGTH", kSgeLength}, {"LKEY", kSgeLkey},
                           {"BYTES", kSgeBytes}}));
  c.Set("WC_FIELD", Named(env, {{"STATUS", kWcStatus}, {"OPCODE", kWcOpcode}, {"VENDOR_ERR", kWcVendorErr},
                                {"BYTE_LEN", kWcByteLen}, {"IMM", kWcImm}, {"QP_NUM", kWcQpNum}, {"SRC_QP", kWcSrcQp},
                                {"FLAGS", kWcFlags}, {"PKEY_INDEX", kWcPkeyIndex}, {"SLID", kWcSlid}, {"SL", kWcSl},
                                {"DLID_PATH_BITS", kWcDlidPathBits}, {"COUNT", kWcFieldCount}}));
  // Older flat names, kept for code that read them.
  c.Set("WC_FIELDS", static_cast<uint32_t>(kWcFieldCount));
  c.Set("SEND_HEADER_BYTES", static_cast<uint32_t>(kSendHeaderBytes));
  c.Set("RECV_HEADER_BYTES", static_cast<uint32_t>(kRecvHeaderBytes));
  c.Set("SGE_BYTES", static_cast<uint32_t>(kSgeBytes));
}

}  // namespace rdmajs
