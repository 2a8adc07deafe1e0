// Type-level tests of the rdma_cm API: `type: 'UD'` selects UdConnection on
// both sides, RC (the default) selects Connection.
import { cm, type ProtectionDomain } from '../../src/index.js';

declare const pd: ProtectionDomain;
declare const qp: cm.CmQpOptions;

export async function typeChecks(): Promise<void> {
  const rc: cm.Connection = await cm.connect({ host: 'h', port: 1, pd, qp });
  rc.on('disconnected', () => {});
  const ud: cm.UdConnection = await cm.connect({ host: 'h', port: 1, pd, qp, type: 'UD' });
  ud.qp.postSend({ ud: ud.remote! });
  // @ts-expect-error a UD connection has no disconnect
  ud.disconnect();

  const rcListener: cm.Listener<'RC'> = await cm.listen({ port: 0 });
  const rcConn: cm.Connection = await (await rcListener.next())!.accept({ pd, qp });
  void rcConn;
  const udListener: cm.Listener<'UD'> = await cm.listen({ port: 0, type: 'UD' });
  for await (const req of udListener) {
    const conn: cm.UdConnection = await req.accept({ pd, qp });
    // @ts-expect-error accepting a UD request does not give a Connection
    const wrong: cm.Connection = await req.accept({ pd, qp });
    void conn;
    void wrong;
  }
}
