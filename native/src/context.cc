#include "context.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <endian.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <memory>
#include <vector>

#include "address_handle.h"
#include "util/gid.h"

namespace rdmajs {

namespace {

struct DeviceList {
  ibv_device** list = nullptr;
  int count = 0;
  DeviceList() { list = ibv_get_device_list(&count); }
  ~DeviceList() {
    if (list != nullptr) ibv_free_device_list(list);
  }
};

Napi::BigInt Guid(Napi::Env env, __be64 guid) { return Napi::BigInt::New(env, static_cast<uint64_t>(be64toh(guid))); }

const char* NodeTypeName(ibv_node_type t) {
  switch (t) {
    case IBV_NODE_CA: return "CA";
    case IBV_NODE_SWITCH: return "SWITCH";
    case IBV_NODE_ROUTER: return "ROUTER";
    case IBV_NODE_RNIC: return "RNIC";
    case IBV_NODE_USNIC: return "USNIC";
    case IBV_NODE_USNIC_UDP: return "USNIC_UDP";
    case IBV_NODE_UNSPECIFIED: return "UNSPECIFIED";
    default: return "UNKNOWN";
  }
}

const char* TransportName(ibv_transport_type t) {
  switch (t) {
    case IBV_TRANSPORT_IB: return "IB";
    case IBV_TRANSPORT_IWARP: return "IWARP";
    case IBV_TRANSPORT_USNIC: return "USNIC";
    case IBV_TRANSPORT_USNIC_UDP: return "USNIC_UDP";
    case IBV_TRANSPORT_UNSPECIFIED: return "UNSPECIFIED";
    default: return "UNKNOWN";
  }
}

const char* PortStateName(ibv_port_state s) {
  switch (s) {
    case IBV_PORT_NOP: return "NOP";
    case IBV_PORT_DOWN: return "DOWN";
    case IBV_PORT_INIT: return "INIT";
    case IBV_PORT_ARMED: return "ARMED";
    case IBV_PORT_ACTIVE: return "ACTIVE";
    case IBV_PORT_ACTIVE_DEFER: return "ACTIVE_DEFER";
    default: return "UNKNOWN";
  }
}

const char* LinkLayerName(uint8_t l) {
  switch (l) {
    case IBV_LINK_LAYER_INFINIBAND: return "INFINIBAND";
    case IBV_LINK_LAYER_ETHERNET: return "ETHERNET";
    default: return "UNSPECIFIED";
  }
}

const char* GidTypeName(uint32_t t) {
  switch (t) {
    case IBV_GID_TYPE_IB: return "IB";
    case IBV_GID_TYPE_ROCE_V1: return "ROCE_V1";
    case IBV_GID_TYPE_ROCE_V2: return "ROCE_V2";
    default: return "UNKNOWN";
  }
}

// MTU enum (1..5) to bytes, as the TS layer speaks bytes.
uint32_t MtuBytes(ibv_mtu m) { return m >= IBV_MTU_256 && m <= IBV_MTU_4096 ? 128u << m : 0; }

}  // namespace

Napi::Function Context::Init(Napi::Env env) {
  return Define(env, {
      StaticMethod<&Context::ListDevices>("listDevices"),
      InstanceAccessor<&Context::GetName>("name"),
      InstanceMethod<&Context::QueryDevice>("queryDevice"),
      InstanceMethod<&Context::QueryPort>("queryPort"),
      InstanceMethod<&Context::QueryGidTable>("queryGidTable"),
      InstanceMethod<&Context::InitAhAttrFromWc>("initAhAttrFromWc"),
      InstanceMethod<&Context::SetEventHandler>("setEventHandler"),
      InstanceMethod<&Context::SetEventRef>("setEventRef"),
  });
}

Napi::Value Context::ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceList devs;
  if (devs.list == nullptr) {
    // No uverbs support at all (e.g. no kernel modules) reads as "no devices".
    if (errno == ENOSYS || errno == ENOENT) return Napi::Array::New(env, 0);
    ThrowRdmaError(env, "ibv_get_device_list", errno);
  }
  Napi::Array out = Napi::Array::New(env, devs.count);
  for (int i = 0; i < devs.count; i++) {
    ibv_device* d = devs.list[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", ibv_get_device_name(d));
    o.Set("guid", Guid(env, ibv_get_device_guid(d)));
    o.Set("nodeType", NodeTypeName(d->node_type));
    o.Set("transport", TransportName(d->transport_type));
    out.Set(i, o);
  }
  return out;
}

Context::Context(const Napi::CallbackInfo& info) : Wrapped(info), env_(info.Env()) {
  Args args(info, "ibv_open_device");
  name_ = args.String(0, "name");
  DeviceList devs;
  if (devs.list == nullptr) ThrowRdmaError(env_, "ibv_get_device_list", errno);
  ibv_device* found = nullptr;
  for (int i = 0; i < devs.count; i++) {
    if (name_ == ibv_get_device_name(devs.list[i])) found = devs.list[i];
  }
  if (found == nullptr) ThrowRdmaError(env_, "ibv_open_device", ENODEV, "no RDMA device named '" + name_ + "'");
  ctx_ = ibv_open_device(found);
  if (ctx_ == nullptr) ThrowRdmaError(env_, "ibv_open_device", errno ? errno : ENODEV, name_);
  try {
    events_ = std::make_unique<AsyncEvents>(env_, ctx_, this);
  } catch (...) {
    ibv_close_device(ctx_);
    ctx_ = nullptr;
    throw;
  }
  GetData(env_)->contexts.insert(this);
}

Context::~Context() { Close(); }

int Context::Release() {
  AddonData* data = GetData(env_);
  if (data != nullptr) data->contexts.erase(this);
  if (ctx_ == nullptr) return 0;
  if (events_ != nullptr) events_->Stop();  // the fd dies with the device
  int err = ibv_close_device(ctx_);
  ctx_ = nullptr;
  return err == 0 ? 0 : errno;
}

Napi::Value Context::GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

// setEventHandler(fn | undefined): fn(event) runs with this Context as `this`.
Napi::Value Context::SetEventHandler(const Napi::CallbackInfo& info) {
  Args args(info, "Context.setEventHandler");
  CheckOpen(info.Env(), "Context.setEventHandler");
  events_->SetHandler(args.Has(0) ? args.Function(0, "handler") : Napi::Function());
  return info.Env().Undefined();
}

// setEventRef(bool): whether the event watcher keeps the loop alive. A no-op
// once closed, like unref() on a closed socket.
Napi::Value Context::SetEventRef(const Napi::CallbackInfo& info) {
  Args args(info, "Context.setEventRef");
  bool ref = args.Bool(0, "ref");
  if (!IsClosed() && events_ != nullptr) events_->SetRef(ref);
  return info.Env().Undefined();
}

Napi::Value Context::QueryDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_query_device");
  ibv_device_attr a{};
  int err = ibv_query_device(ctx_, &a);
  if (err != 0) ThrowRdmaError(env, "ibv_query_device", err);
  Napi::Object o = Napi::Object::New(env);
  o.Set("fwVer", a.fw_ver);
  o.Set("nodeGuid", Guid(env, a.node_guid));
  o.Set("sysImageGuid", Guid(env, a.sys_image_guid));
  o.Set("maxMrSize", Napi::BigInt::New(env, static_cast<uint64_t>(a.max_mr_size)));
  o.Set("pageSizeCap", Napi::BigInt::New(env, static_cast<uint64_t>(a.page_size_cap)));
  o.Set("vendorId", a.vendor_id);
  o.Set("vendorPartId", a.vendor_part_id);
  o.Set("hwVer", a.hw_ver);
  o.Set("maxQp", a.max_qp);
  o.Set("maxQpWr", a.max_qp_wr);
  o.Set("deviceCapFlags", a.device_cap_flags);
  o.Set("maxSge", a.max_sge);
  o.Set("maxSgeRd", a.max_sge_rd);
  o.Set("maxCq", a.max_cq);
  o.Set("maxCqe", a.max_cqe);
  o.Set("maxMr", a.max_mr);
  o.Set("maxPd", a.max_pd);
  o.Set("maxQpRdAtom", a.max_qp_rd_atom);
  o.Set("maxQpInitRdAtom", a.max_qp_init_rd_atom);
  o.Set("maxResRdAtom", a.max_res_rd_atom);
  o.Set("atomicCap", a.atomic_cap == IBV_ATOMIC_NONE ? "NONE" : a.atomic_cap == IBV_ATOMIC_HCA ? "HCA" : "GLOB");
  o.Set("maxMw", a.max_mw);
  o.Set("maxAh", a.max_ah);
  o.Set("maxSrq", a.max_srq);
  o.Set("maxSrqWr", a.max_srq_wr);
  o.Set("maxSrqSge", a.max_srq_sge);
  o.Set("maxPkeys", a.max_pkeys);
  o.Set("physPortCnt", a.phys_port_cnt);
  return o;
}

Napi::Value Context::QueryPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_query_port");
  Args args(info, "ibv_query_port");
  uint32_t port = args.Uint32(0, "port", 1, 255);
  ibv_port_attr a{};
  int err = ibv_query_port(ctx_, static_cast<uint8_t>(port), &a);
  if (err != 0) ThrowRdmaError(env, "ibv_query_port", err, "port " + std::to_string(port));
  Napi::Object o = Napi::Object::New(env);
  o.Set("state", PortStateName(a.state));
  o.Set("maxMtu", MtuBytes(a.max_mtu));
  o.Set("activeMtu", MtuBytes(a.active_mtu));
  o.Set("gidTblLen", a.gid_tbl_len);
  o.Set("portCapFlags", a.port_cap_flags);
  o.Set("maxMsgSz", a.max_msg_sz);
  o.Set("pkeyTblLen", a.pkey_tbl_len);
  o.Set("lid", a.lid);
  o.Set("smLid", a.sm_lid);
  o.Set("lmc", a.lmc);
  o.Set("maxVlNum", a.max_vl_num);
  o.Set("smSl", a.sm_sl);
  o.Set("activeWidth", a.active_width);
  o.Set("activeSpeed", a.active_speed);
  o.Set("physState", a.phys_state);
  o.Set("linkLayer", LinkLayerName(a.link_layer));
  return o;
}

// All valid GID entries of a port (or of every port when port is omitted),
// with type, netdev and, for RoCE, the IP address the GID encodes.
Napi::Value Context::QueryGidTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_query_gid_table");
  Args args(info, "ibv_query_gid_table");
  uint32_t port = args.Has(0) ? args.Uint32(0, "port", 1, 255) : 0;

  ibv_device_attr dev{};
  int err = ibv_query_device(ctx_, &dev);
  if (err != 0) ThrowRdmaError(env, "ibv_query_device", err);
  size_t max = 0;
  for (uint32_t p = 1; p <= dev.phys_port_cnt; p++) {
    ibv_port_attr pa{};
    if (ibv_query_port(ctx_, static_cast<uint8_t>(p), &pa) == 0) max += pa.gid_tbl_len;
  }
  std::vector<ibv_gid_entry> entries(max > 0 ? max : 1);
  ssize_t n = ibv_query_gid_table(ctx_, entries.data(), entries.size(), 0);
  if (n < 0) ThrowRdmaError(env, "ibv_query_gid_table", static_cast<int>(-n));

  Napi::Array out = Napi::Array::New(env);
  uint32_t k = 0;
  for (ssize_t i = 0; i < n; i++) {
    const ibv_gid_entry& e = entries[i];
    if (port != 0 && e.port_num != port) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("port", e.port_num);
    o.Set("index", e.gid_index);
    o.Set("gid", GidToBuffer(env, e.gid.raw));
    o.Set("type", GidTypeName(e.gid_type));
    char ifname[IF_NAMESIZE] = {0};
    if (e.ndev_ifindex != 0 && if_indextoname(e.ndev_ifindex, ifname) != nullptr) {
      o.Set("netdev", ifname);
    } else {
      o.Set("netdev", env.Null());
    }
    // RoCE GIDs are IPv6 addresses; IPv4 ones are v4-mapped (::ffff:a.b.c.d).
    char ip[INET6_ADDRSTRLEN] = {0};
    static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (e.gid_type == IBV_GID_TYPE_IB) {
      o.Set("ip", env.Null());
    } else if (std::memcmp(e.gid.raw, kV4Mapped, 12) == 0) {
      inet_ntop(AF_INET, e.gid.raw + 12, ip, sizeof ip);
      o.Set("ip", ip);
    } else {
      inet_ntop(AF_INET6, e.gid.raw, ip, sizeof ip);
      o.Set("ip", ip);
    }
    out.Set(k++, o);
  }
  return out;
}

// initAhAttrFromWc(port, { wcFlags, srcQp, slid, sl, dlidPathBits, pkeyIndex },
// grh: the first 40 bytes of the receive buffer): the address vector back to
// the sender of a UD receive (ibv_init_ah_from_wc; on RoCE v2 it reads the
// IPv4 header that sits in the GRH slot).
Napi::Value Context::InitAhAttrFromWc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "ibv_init_ah_from_wc");
  Args args(info, "ibv_init_ah_from_wc");
  uint8_t port = static_cast<uint8_t>(args.Uint32(0, "port", 1, 255));
  Props w(args.Object(1, "wc"), args.Method());
  ibv_wc wc{};
  wc.wc_flags = w.Uint32("wcFlags", 0);
  wc.src_qp = w.Uint32("srcQp", 0, 0, 0xffffff);
  wc.slid = static_cast<uint16_t>(w.Uint32("slid", 0, 0, 0xffff));
  wc.sl = static_cast<uint8_t>(w.Uint32("sl", 0, 0, 15));
  wc.dlid_path_bits = static_cast<uint8_t>(w.Uint32("dlidPathBits", 0, 0, 127));
  wc.pkey_index = static_cast<uint16_t>(w.Uint32("pkeyIndex", 0, 0, 0xffff));
  ibv_grh grh{};
  if (wc.wc_flags & IBV_WC_GRH) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      args.TypeError("grh must be a Buffer or Uint8Array (the first 40 bytes of the receive buffer)");
    }
    auto bytes = info[2].As<Napi::Uint8Array>();
    if (bytes.ElementLength() < sizeof grh) args.RangeError("grh must hold at least 40 bytes");
    std::memcpy(&grh, bytes.Data(), sizeof grh);
  }
  ibv_ah_attr attr{};
  if (ibv_init_ah_from_wc(ctx_, port, &wc, &grh, &attr) != 0) {
    ThrowRdmaError(env, "ibv_init_ah_from_wc", errno ? errno : EINVAL);
  }
  return AhAttrToObject(env, attr);
}

}  // namespace rdmajs
