/**
 * Address handles: the destination of an unreliable-datagram (UD) send; and
 * `ProtectionDomain.createAh()` / `createAhFromWc()`.
 * @module
 */
import { assertOpen, int, obj } from './check.js';
import { contextHandle } from './context.js';
import { checkEndpoint } from './endpoint.js';
import { parseGid } from './gid.js';
import { native, type NativeAddressHandle } from './native.js';
import { ProtectionDomain } from './pd.js';
import { VerbsResource, addMethods, handle } from './resource.js';
import type { WorkCompletion } from './types/completion.js';
import type { AhAttributes, Endpoint } from './types/qp.js';

/** @internal Raw ah_attr for the addon from typed attributes. */
export function rawAhAttr(method: string, ah: AhAttributes): Record<string, unknown> {
  const a = obj<AhAttributes>(method, 'ahAttr', ah);
  const out: Record<string, unknown> = { ...a };
  if (a.grh !== undefined) {
    const g = obj<NonNullable<AhAttributes['grh']>>(method, 'ahAttr.grh', a.grh);
    out.grh = { ...g, dgid: typeof g.dgid === 'string' ? parseGid(g.dgid) : g.dgid };
  }
  return out;
}

/** @internal Address vector to reach `remote` from `pd`'s device. */
export function ahFromEndpoint(pd: ProtectionDomain, remote: Endpoint, sgidIndex?: number): AhAttributes {
  const ctx = pd.context;
  const port = ctx.queryPort(remote.port === undefined ? 1 : remote.port);
  const global = port.linkLayer === 'ETHERNET' || remote.lid === 0;
  return {
    dlid: remote.lid,
    portNum: 1,
    ...(global ? { grh: { dgid: remote.gid, sgidIndex: sgidIndex ?? ctx.defaultGid(1).index, hopLimit: 64 } } : {}),
  };
}

let idOf: (ah: AddressHandle) => number;

/** @internal The addon's id of `ah`, which UD send descriptors carry. */
export function addressHandleId(ah: AddressHandle): number {
  return idOf(ah);
}

/** An address handle (`ibv_ah`): where a UD work request is sent. */
export class AddressHandle extends VerbsResource {
  /** The protection domain it belongs to (UD QPs of the same PD may use it). */
  readonly pd: ProtectionDomain;
  readonly #id: number;

  static {
    idOf = (ah) => ah.#id;
  }

  /** @internal Use {@link ProtectionDomain.createAh}. */
  constructor(pd: ProtectionDomain, attrs: AhAttributes) {
    const ah = new native.AddressHandle(handle(pd), rawAhAttr('ibv_create_ah', attrs)) as NativeAddressHandle;
    super(ah);
    this.pd = pd;
    this.#id = ah.id; // read once: UD sends write it into every descriptor
  }
}

declare module './pd.js' {
  interface ProtectionDomain {
    /**
     * Creates an address handle for UD sends: from raw attributes, or from a
     * peer's {@link Endpoint} (GRH from its GID on RoCE, our default GID as source).
     */
    createAh(target: AhAttributes | Endpoint): AddressHandle;
    /**
     * Creates an address handle back to the sender of a UD receive
     * (`ibv_create_ah_from_wc`): reply to whoever sent `wc`, at QP `wc.srcQp`.
     *
     * @param wc The receive's completion.
     * @param grh The first 40 bytes of the receive buffer (the GRH; on RoCE v2
     *   over IPv4 it holds the IPv4 header). Needed when the completion has the
     *   GRH flag, which is always the case on RoCE.
     * @param port Local port the receive arrived on. Default 1.
     */
    createAhFromWc(wc: WorkCompletion, grh?: Uint8Array, port?: number): AddressHandle;
  }
}

addMethods(ProtectionDomain, {
  createAh(target: AhAttributes | Endpoint): AddressHandle {
    const m = 'ibv_create_ah';
    assertOpen(this.closed, m, 'ProtectionDomain');
    const t = obj<AhAttributes | Endpoint>(m, 'target', target);
    const attrs = 'qpn' in t ? ahFromEndpoint(this, checkEndpoint(m, t)) : (t as AhAttributes);
    return new AddressHandle(this, attrs);
  },

  createAhFromWc(wc: WorkCompletion, grh?: Uint8Array, port = 1): AddressHandle {
    const m = 'ibv_create_ah_from_wc';
    assertOpen(this.closed, m, 'ProtectionDomain');
    const w = obj<WorkCompletion>(m, 'wc', wc);
    if (grh !== undefined && !(grh instanceof Uint8Array)) throw new TypeError(`${m}: grh must be a Buffer or Uint8Array`);
    int(m, 'port', port, 1, 255);
    const attrs = contextHandle(this.context).initAhAttrFromWc(port, w as unknown as Record<string, unknown>, grh);
    return new AddressHandle(this, attrs as AhAttributes);
  },
});
