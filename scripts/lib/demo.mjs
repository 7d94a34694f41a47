// The demo's driver (run by scripts/demo after the builds): the reference server, the C++ example
// (examples/cpp, a native client answering pings) and a Node client (the npm package) talking through it.
// Phase 1 measures round trips; phase 2 stops the server, publishes while offline (the offline queue),
// starts the server again on the same port and checks that every queued message arrives exactly once
// and in order after both clients have reconnected. Exits 0 only if nothing was lost or duplicated.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { Client } from 'stompwire';
import { startServer, waitFor, repoRoot } from '../../tests/js/support/server.mjs';

const ONLINE = 5;
const OFFLINE = 3;
const bin = (name) => path.join(process.env.STOMPWIRE_BUILD_DIR ?? path.join(repoRoot, 'build/native'), 'bin', name);
const t0 = performance.now();
const log = (who, text) => console.log(`${((performance.now() - t0) / 1000).toFixed(2).padStart(6)}s  ${who.padEnd(6)} ${text}`);
const ms = (x) => `${x.toFixed(1)} ms`;

// Whatever ends this process (an error, Ctrl-C, a closed stdout pipe) ends the children too.
const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
const track = (child) => (children.add(child), child.on('exit', () => children.delete(child)), child);

let server = await startServer();
track(server.process);
const { port, url } = server;
log('server', `listening on ${url} (pid ${server.process.pid})`);

// The C++ example answers exactly ONLINE + OFFLINE pings, then deactivates and exits.
const cpp = track(spawn(bin('stompwire-echo'), [url, String(ONLINE + OFFLINE)], { stdio: ['ignore', 'pipe', 'pipe'] }));
const cppExit = once(cpp, 'exit');
let cppState = '';
readline.createInterface({ input: cpp.stdout }).on('line', (l) => log('cpp', l));
readline.createInterface({ input: cpp.stderr }).on('line', (l) => {
  cppState = l.replace(/^cpp: /, '');
  log('cpp', l.replace(/^cpp: /, 'state: '));
});

const node = await Client.create({ brokerURL: url, reconnect: { initialDelay: 500, maxDelay: 2000 } });
node.onStateChange(({ state }) => {
  const next = node.metrics().nextAttemptAt;
  log('node', `state: ${state}${state === 'reconnecting' && next !== undefined ? ` (next attempt in ${Math.max(0, next - performance.now()).toFixed(0)} ms)` : ''}`);
});
const sentAt = new Map();
const pongs = [];
node.subscribe('/queue/demo.pong', (m) => {
  const ping = m.body.replace(/^pong /, '');
  const rtt = performance.now() - sentAt.get(ping);
  pongs.push({ ping, rtt });
  log('node', `got "${m.body}" after ${ms(rtt)}`);
});
node.activate();
await waitFor(() => node.connected && cppState === 'connected', 10000, 'both clients connected');

console.log(`\n-- phase 1: ${ONLINE} pings, node -> server -> cpp -> server -> node\n`);
for (let i = 1; i <= ONLINE; i++) {
  const body = `ping ${i}`;
  sentAt.set(body, performance.now());
  log('node', `send "${body}"`);
  await node.publish({ destination: '/queue/demo.ping', body, receipt: true });
  await waitFor(() => pongs.length === i, 5000, `the answer to ${body}`);
}

console.log(`\n-- phase 2: the server stops; ${OFFLINE} pings are published while offline; the server starts again\n`);
await server.stop();
log('server', 'stopped (SIGTERM: ERROR "server shutting down", close 1001)');
await waitFor(() => node.state === 'reconnecting' && cppState.startsWith('reconnecting'), 10000, 'both clients to notice');
const queuedAt = performance.now();
const offline = [];
for (let i = ONLINE + 1; i <= ONLINE + OFFLINE; i++) {
  const body = `ping ${i}`;
  sentAt.set(body, performance.now());
  offline.push(node.publish({ destination: '/queue/demo.ping', body, receipt: true }));
  log('node', `send "${body}": queued offline (${node.metrics().queueDepth} waiting)`);
}
server = await startServer({ args: ['--listen', `127.0.0.1:${port}`] });
track(server.process);
log('server', `started again on port ${port}`);
await Promise.all(offline);
log('node', `the offline queue is flushed and confirmed by receipts`);
await waitFor(() => pongs.length === ONLINE + OFFLINE, 15000, 'the answers to the queued pings');
const outage = performance.now() - queuedAt;

const [cppCode] = await cppExit;
await node.deactivate();
await server.stop();

const order = pongs.map((p) => p.ping);
const expected = Array.from({ length: ONLINE + OFFLINE }, (_, i) => `ping ${i + 1}`);
const rtts = pongs.slice(0, ONLINE).map((p) => p.rtt).sort((a, b) => a - b);
const ok = JSON.stringify(order) === JSON.stringify(expected) && cppCode === 0;
console.log(`
-- summary
  messages      ${ONLINE + OFFLINE} pings sent, ${pongs.length} answers received, ${new Set(order).size === order.length ? 'no duplicates' : 'DUPLICATES'}, ${ok ? 'in order' : 'OUT OF ORDER or missing'}
  round trip    min ${ms(rtts[0])}, median ${ms(rtts[Math.floor(rtts.length / 2)])}, max ${ms(rtts.at(-1))} (node -> cpp -> node, online)
  restart       ${OFFLINE} pings queued while offline, all answered ${ms(outage)} after the first was queued
  node client   ${node.metrics().connects} connects, ${node.metrics().reconnects} reconnect attempts
  cpp client    exited with ${cppCode}
${ok ? 'demo ok' : 'demo FAILED'}`);
process.exit(ok ? 0 : 1);
