/**
 * Address handles: the destination of an unreliable-datagram (UD) send.
 * @module
 */
import { obj } from './check.js';
import { parseGid } from './gid.js';
import { native, type NativeAddressHandle } from './native.js';
import type { ProtectionDomain } from './pd.js';
import type { AhAttributes, Endpoint } from './qp.js';

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

/** An address handle (`ibv_ah`): where a UD work request is sent. */
export class AddressHandle implements Disposable {
  /** @internal */ readonly _native: NativeAddressHandle;
  /** The protection domain it belongs to (UD QPs of the same PD may use it). */
  readonly pd: ProtectionDomain;

  /** @internal Use {@link ProtectionDomain.createAh}. */
  constructor(pd: ProtectionDomain, attrs: AhAttributes) {
    this.pd = pd;
    this._native = new native.AddressHandle(pd._native, rawAhAttr('ibv_create_ah', attrs));
  }

  /** True once closed. */
  get closed(): boolean {
    return this._native.closed;
  }

  /** Destroys the address handle. Harmless when already closed. */
  close(): void {
    this._native.close();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
