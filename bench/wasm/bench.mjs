#!/usr/bin/env node
// Frames parsed and delivered to a JS callback per second in Node: stompwire (the wasm core through the
// npm package) vs @stomp/stompjs 7.5, on the same MESSAGE frames in the same run. Both clients get an
// in-memory WebSocket-like object (no network, no server): after CONNECTED, the bench hands the same
// string WebSocket messages to each client's onmessage, and the subscription callback reads the body
// and a header, as an app would. Rounds alternate between the clients; the best round of each counts.
//   node bench/wasm/bench.mjs [--frames N] [--batch K] [--rounds R] [--body BYTES]
import { Client as StompwireClient, init } from '../../bindings/js/stompwire.mjs';
import { Client as StompJsClient } from '@stomp/stompjs';
import { FakeSocket } from './fake-socket.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FRAMES = arg('frames', 100000);
const ROUNDS = arg('rounds', 5);
const BODY = arg('body', 100);

await init();

function messages(subscription, batch) {
  const body = JSON.stringify({ text: 'x'.repeat(Math.max(0, BODY - 40)), n: 12345 }).slice(0, BODY);
  const frame = (i) =>
    `MESSAGE\ndestination:/topic/bench\nsubscription:${subscription}\nmessage-id:m-${i}\ncontent-type:application/json\ncontent-length:${Buffer.byteLength(body)}\n\n${body}\0`;
  const out = [];
  for (let i = 0; i < FRAMES; i += batch) {
    let s = '';
    for (let k = i; k < Math.min(FRAMES, i + batch); k++) s += frame(k);
    out.push(s);
  }
  return out;
}

const until = (p) => new Promise((resolve) => { const t = () => (p() ? resolve() : setTimeout(t, 1)); t(); });

async function setup(kind) {
  let socket;
  let received = 0;
  let checksum = 0;
  const onMessage = (m) => {
    received++;
    checksum += m.body.length + m.headers['message-id'].length;
  };
  let client;
  if (kind === 'stompwire') {
    client = new StompwireClient({ brokerURL: 'ws://bench', heartbeatIncoming: 0, heartbeatOutgoing: 0, webSocketFactory: () => (socket = new FakeSocket()) });
    client.activate();
    await until(() => client.connected);
  } else {
    client = new StompJsClient({ brokerURL: 'ws://bench', heartbeatIncoming: 0, heartbeatOutgoing: 0, reconnectDelay: 0, webSocketFactory: () => (socket = new FakeSocket()) });
    client.activate();
    await until(() => client.connected);
  }
  const sub = client.subscribe('/topic/bench', onMessage);
  return {
    id: sub.id,
    socket,
    stats: () => ({ received, checksum }),
    reset: () => { received = 0; checksum = 0; },
    stop: async () => { await client.deactivate(); if (client.dispose) client.dispose(); },
  };
}

async function measure(batch) {
  const clients = { stompwire: await setup('stompwire'), stompjs: await setup('stompjs') };
  const data = Object.fromEntries(Object.entries(clients).map(([k, c]) => [k, messages(c.id, batch)]));
  const best = { stompwire: Infinity, stompjs: Infinity };
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of r % 2 ? ['stompjs', 'stompwire'] : ['stompwire', 'stompjs']) {
      const c = clients[name];
      c.reset();
      const list = data[name];
      const t0 = process.hrtime.bigint();
      for (const d of list) c.socket.onmessage({ data: d });
      await until(() => c.stats().received === FRAMES);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      best[name] = Math.min(best[name], ms);
    }
  }
  if (clients.stompwire.stats().checksum !== clients.stompjs.stats().checksum) throw new Error('the clients saw different frames');
  for (const c of Object.values(clients)) await c.stop();
  const rate = (ms) => Math.round(FRAMES / (ms / 1000));
  return { batch, stompwire: rate(best.stompwire), stompjs: rate(best.stompjs), ratio: best.stompjs / best.stompwire };
}

console.log(`frames per second delivered to a callback (Node ${process.version}, ${FRAMES} MESSAGE frames, ${BODY}-byte JSON body, best of ${ROUNDS})`);
const results = [];
for (const batch of [1, 10]) {
  const r = await measure(batch);
  results.push(r);
  console.log(`  ${String(batch).padStart(2)} frame(s) per WebSocket message: stompwire ${r.stompwire.toLocaleString('en')} /s, @stomp/stompjs ${r.stompjs.toLocaleString('en')} /s, ratio ${r.ratio.toFixed(2)}x`);
}
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
process.exit(0);
