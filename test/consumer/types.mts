// Type-checked by tsc under `module: nodenext` in the scratch consumer project:
// the published declarations resolve and compose (ESM side).
import { openDevice, RdmaError, RegistrationCache, type QueuePair, type WorkCompletion } from '@rdmajs/verbs';
import * as sdp from '@rdmajs/sdp';
import { init, type Communicator } from '@rdmajs/mp';
import { hasRdmaDevice, runInTestbed } from '@rdmajs/testbed';

export async function check(): Promise<void> {
  using ctx = openDevice();
  const pd = ctx.allocPd();
  const cq = ctx.createCq({ entries: 4 });
  const qp = pd.createQp({ type: 'RC', sendCq: cq, cap: { maxSendWr: 1, maxRecvWr: 1 } });
  const ready: QueuePair<'ready'> = qp.connect(qp.endpoint());
  const wc: WorkCompletion | undefined = cq.poll()[0];
  const cache = new RegistrationCache(pd, { access: ['LOCAL_WRITE'] });
  cache.close();
  const socket: sdp.SdpSocket = sdp.connect(7000, '10.9.0.1');
  socket.destroy();
  const comm: Communicator = await init();
  await comm.close();
  const err: unknown = new Error();
  if (err instanceof RdmaError) console.log(err.code, err.errno, err.syscall);
  console.log(ready.qpn, wc?.status, hasRdmaDevice(), typeof runInTestbed);
}
