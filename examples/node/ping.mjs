// A Node client: sends COUNT pings to /queue/demo.ping and prints each pong with its round-trip time.
// Usage: node ping.mjs [URL] [COUNT]   (answered by examples/cpp, or any service on that queue)
import { Client } from 'stompwire';

const [url = 'ws://127.0.0.1:8080/ws', count = '3'] = process.argv.slice(2);
const client = await Client.create({ brokerURL: url });
const sentAt = new Map();
let left = Number(count);
const done = new Promise((resolve) => {
  client.subscribe('/queue/demo.pong', (m) => {
    const id = m.body.replace('pong ', '');
    console.log(`${m.body} after ${(performance.now() - sentAt.get(id)).toFixed(1)} ms`);
    if (--left === 0) resolve();
  });
});
client.activate();
for (let i = 1; i <= Number(count); i++) {
  sentAt.set(`ping ${i}`, performance.now());
  await client.publish({ destination: '/queue/demo.ping', body: `ping ${i}`, receipt: true }); // resolves on RECEIPT
}
await done;
await client.deactivate();
