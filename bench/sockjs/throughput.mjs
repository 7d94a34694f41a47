// messages/s through stompwire-server over SockJS transports vs WebSocket, in the same run.
// One publisher and one subscriber (@stomp/stompjs 7.5.0) on the same transport; the publisher keeps
// at most WINDOW messages in flight (sent - received), so no transport is pushed into its
// slow-consumer limit and the number is sustained throughput, not burst buffering.
//
//   node bench/sockjs/throughput.mjs [--messages 20000] [--size 100] [--window 500] [--rounds 3]
//
// Prints one line per transport (best of the rounds, rounds interleaved) and the ratios to WebSocket.
import { Client } from '@stomp/stompjs';
import SockJS from 'sockjs-client';
import WebSocket from 'ws';

import { startServer, waitFor } from '../../tests/js/support/server.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MESSAGES = opt('messages', 20000);
const SIZE = opt('size', 100);
const WINDOW = opt('window', 500);
const ROUNDS = opt('rounds', 3);

const TRANSPORTS = [
  ['ws (/ws, native WebSocket)', null],
  ['sockjs websocket', 'websocket'],
  ['sockjs xhr-streaming', 'xhr-streaming'],
  ['sockjs eventsource', 'eventsource'],
  ['sockjs xhr-polling', 'xhr-polling'],
];

async function connect(server, transport) {
  const client = new Client({
    webSocketFactory: transport
      ? () => new SockJS(`${server.httpUrl}/sockjs`, null, { transports: [transport] })
      : () => new WebSocket(server.url, ['v12.stomp'], { perMessageDeflate: false }),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    debug: () => {},
  });
  client.activate();
  await waitFor(() => client.connected, 8000, `connect ${transport ?? 'ws'}`);
  return client;
}

async function runOnce(server, transport, round) {
  const pub = await connect(server, transport);
  const sub = await connect(server, transport);
  const dest = `/topic/bench.${transport ?? 'ws'}.${round}`;
  let received = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  let wake = null;
  await new Promise((resolve) => {
    sub.watchForReceipt('sub', resolve);
    sub.subscribe(dest, () => {
      received++;
      if (wake) { const w = wake; wake = null; w(); }
      if (received === MESSAGES) done();
    }, { receipt: 'sub' });
  });
  const body = 'x'.repeat(SIZE);
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < MESSAGES; sent++) {
    while (sent - received >= WINDOW) await new Promise((r) => (wake = r));
    pub.publish({ destination: dest, body });
  }
  await finished;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await pub.deactivate();
  await sub.deactivate();
  return MESSAGES / secs;
}

const extraArgs = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
const server = await startServer({ args: ['--rate-limit-user', '0', '--rate-limit-ip', '0', ...extraArgs] });
const best = new Map();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, transport] of TRANSPORTS) {
      const rate = await runOnce(server, transport, round);
      best.set(name, Math.max(best.get(name) ?? 0, rate));
    }
  }
} finally {
  await server.stop();
}
console.log(`stompwire-server SockJS throughput: ${MESSAGES} messages of ${SIZE} B, window ${WINDOW}, best of ${ROUNDS} interleaved rounds, node ${process.version}`);
const ws = best.get('sockjs websocket');
for (const [name] of TRANSPORTS) {
  const r = best.get(name);
  console.log(`${name.padEnd(28)} ${Math.round(r).toString().padStart(8)} msg/s   ${(r / ws).toFixed(2)}x sockjs websocket`);
}
console.log(`ratio xhr-streaming / websocket (both over /sockjs): ${(best.get('sockjs xhr-streaming') / ws).toFixed(2)}`);
console.log(`ratio xhr-streaming / native /ws: ${(best.get('sockjs xhr-streaming') / best.get('ws (/ws, native WebSocket)')).toFixed(2)}`);
