#!/usr/bin/env node
// Publishes with receipts in a burst, then their RECEIPTs in order, through the npm package over an
// in-memory WebSocket-like object: the time per receipt at N and at N/8 in the same run. Their ratio is
// ~1 when settling a receipt costs the same however many are outstanding, ~8 when it grows with them
// (N^2 overall: what erasing from the front of the pending list or scanning every timer cost).
//   node bench/wasm/receipts.mjs [--n N]
import { Client, init } from '../../bindings/js/stompwire.mjs';
import { FakeSocket } from './fake-socket.mjs';

const i = process.argv.indexOf('--n');
const N = i > 0 ? Number(process.argv[i + 1]) : 40000;
await init();

// Milliseconds per 1,000 receipts settled with n outstanding (best of 3).
async function perThousand(n) {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    let socket;
    const client = new Client({ brokerURL: 'ws://bench', heartbeatIncoming: 0, heartbeatOutgoing: 0, webSocketFactory: () => (socket = new FakeSocket()) });
    client.activate();
    while (!client.connected) await new Promise((resolve) => setTimeout(resolve, 1));
    const done = [];
    for (let k = 0; k < n; k++) done.push(client.publish({ destination: '/queue/bench', body: 'x', receipt: true }));
    const receipts = socket.sent.filter((t) => t.startsWith('SEND')).map((t) => /\nreceipt:([^\n]*)/.exec(t)[1]);
    const t0 = performance.now();
    for (const id of receipts) socket.onmessage({ data: `RECEIPT\nreceipt-id:${id}\n\n\0` });
    await Promise.all(done);
    best = Math.min(best, ((performance.now() - t0) / n) * 1000);
    client.dispose();
  }
  return best;
}

await perThousand(N / 8); // warm-up (JIT)
const small = await perThousand(N / 8);
const large = await perThousand(N);
console.log(`receipts settled, in order, after a burst of publishes with receipts (Node ${process.version})`);
console.log(`  ${N / 8} outstanding: ${small.toFixed(2)} ms per 1,000`);
console.log(`  ${N} outstanding: ${large.toFixed(2)} ms per 1,000`);
console.log(`  ratio ${(large / small).toFixed(2)} (1 = constant cost per receipt, 8 = linear in the outstanding count)`);
