#include "address_handle.h"

#include <cerrno>

#include "protection_domain.h"
#include "util/gid.h"

namespace rdmajs {

void ReadAhAttr(const Args& args, Napi::Object o, const char* method, ibv_ah_attr* a) {
  Props ah(o, method);
  a->dlid = static_cast<uint16_t>(ah.Uint32("dlid", 0, 0, 0xffff));
  a->sl = static_cast<uint8_t>(ah.Uint32("sl", 0, 0, 15));
  a->src_path_bits = static_cast<uint8_t>(ah.Uint32("srcPathBits", 0, 0, 127));
  a->static_rate = static_cast<uint8_t>(ah.Uint32("staticRate", 0, 0, 255));
  a->port_num = static_cast<uint8_t>(ah.Uint32("portNum", 1, 1, 255));
  if (ah.Has("grh")) {
    Props g(ah.Object("grh"), method);
    a->is_global = 1;
    BufferToGid(args, g.Get("dgid"), "grh.dgid", a->grh.dgid.raw);
    a->grh.flow_label = g.Uint32("flowLabel", 0, 0, 0xfffff);
    a->grh.sgid_index = static_cast<uint8_t>(g.Uint32("sgidIndex", 0, 0, 255));
    a->grh.hop_limit = static_cast<uint8_t>(g.Uint32("hopLimit", 1, 0, 255));
    a->grh.traffic_class = static_cast<uint8_t>(g.Uint32("trafficClass", 0, 0, 255));
  }
}

Napi::Object AhAttrToObject(Napi::Env env, const ibv_ah_attr& a) {
  Napi::Object ah = Napi::Object::New(env);
  ah.Set("dlid", a.dlid);
  ah.Set("sl", a.sl);
  ah.Set("srcPathBits", a.src_path_bits);
  ah.Set("staticRate", a.static_rate);
  ah.Set("portNum", a.port_num);
  if (a.is_global) {
    Napi::Object g = Napi::Object::New(env);
    g.Set("dgid", GidToBuffer(env, a.grh.dgid.raw));
    g.Set("flowLabel", a.grh.flow_label);
    g.Set("sgidIndex", a.grh.sgid_index);
    g.Set("hopLimit", a.grh.hop_limit);
    g.Set("trafficClass", a.grh.traffic_class);
    ah.Set("grh", g);
  }
  return ah;
}

Napi::Function AddressHandle::Init(Napi::Env env) {
  return Define(env, {
      InstanceAccessor<&AddressHandle::GetId>("id"),
  });
}

// new AddressHandle(pd, ahAttr)
AddressHandle::AddressHandle(const Napi::CallbackInfo& info) : Wrapped(info) {
  Args args(info, "ibv_create_ah");
  pd_ = args.Wrapped<ProtectionDomain>(0, "pd");
  ibv_ah_attr attr{};
  ReadAhAttr(args, args.Object(1, "attributes"), "ibv_create_ah", &attr);
  ah_ = ibv_create_ah(pd_->Handle(), &attr);
  if (ah_ == nullptr) ThrowRdmaError(info.Env(), "ibv_create_ah", errno ? errno : EINVAL);
  id_ = pd_->AddAddressHandle(this);
  AttachTo(pd_, info[0].As<Napi::Object>());
}

AddressHandle::~AddressHandle() { Close(); }

int AddressHandle::Release() {
  if (ah_ == nullptr) return 0;
  pd_->RemoveAddressHandle(id_);
  int err = ibv_destroy_ah(ah_);
  ah_ = nullptr;
  return err;
}

Napi::Value AddressHandle::GetId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }

}  // namespace rdmajs
