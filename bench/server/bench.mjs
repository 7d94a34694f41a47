// Server benchmark: stompwire-server vs RabbitMQ Web-STOMP, same workloads, same run, same client.
//
//  1. memory per idle connection: N WebSocket connections, each STOMP-CONNECTed (no heart-beats),
//     held open; (server RSS after - RSS before) / N.
//  2. fan-out: 1 publisher -> S subscribers on one topic; M messages of B bytes; deliveries/s =
//     M x S / (time from the first SEND until every subscriber has every message). The publisher
//     stays at most W messages ahead of the slowest subscriber, so neither broker is measured on
//     how much it can buffer (and stompwire's 512 KiB slow-consumer limit is never hit).
//
// The client is this single Node process (ws, no permessage-deflate); it is the same for both
// brokers, so the ratio is meaningful even where the client is the bottleneck.
//
//   node bench/server/bench.mjs [--connections 10000] [--subscribers 1000] [--messages 1000]
//        [--size 100] [--window 50] [--no-rabbitmq]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';

import { repoRoot, startServer } from '../../tests/js/support/server.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CONNECTIONS = opt('connections', 10000);
const SUBSCRIBERS = opt('subscribers', 1000);
const MESSAGES = opt('messages', 1000);
const SIZE = opt('size', 100);
const WINDOW = opt('window', 50);
const WITH_RABBIT = !args.includes('--no-rabbitmq');

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One STOMP connection: resolves once CONNECTED arrived. Counts MESSAGE frames by NUL terminators.
function stompConnect(url, login, onFrames) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['v12.stomp'], { perMessageDeflate: false });
    let connected = false;
    const timer = setTimeout(() => {
      if (!connected) {
        ws.terminate();
        reject(new Error(`no CONNECTED from ${url} within 30 s`));
      }
    }, 30000);
    ws.on('open', () => {
      ws.send(`CONNECT\naccept-version:1.2\nheart-beat:0,0\nlogin:${login}\npasscode:${login}\n\n\0`);
    });
    ws.on('message', (data) => {
      const text = typeof data === 'string' ? data : data.toString('latin1');
      if (!connected) {
        if (text.startsWith('CONNECTED')) {
          connected = true;
          clearTimeout(timer);
          resolve(ws);
          return;
        }
        reject(new Error(`no CONNECTED: ${text.slice(0, 200)}`));
        return;
      }
      onFrames?.(text);
    });
    ws.on('error', (e) => (connected ? null : reject(e)));
    ws.on('close', (code) => (connected ? null : reject(new Error(`closed ${code} before CONNECTED`))));
  });
}

async function openMany(url, login, n, onFrames) {
  const sockets = [];
  const batch = 250;
  for (let i = 0; i < n; i += batch) {
    const part = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, (_, k) => stompConnect(url, login, onFrames && ((t) => onFrames(i + k, t)))),
    );
    sockets.push(...part);
  }
  return sockets;
}

async function closeAll(sockets) {
  await Promise.all(sockets.map((ws) => new Promise((r) => {
    if (ws.readyState === WebSocket.CLOSED) return r();
    ws.on('close', r);
    ws.terminate();
  })));
}

async function settleRss(pid) {
  // RSS after allocation settles: take the last of a few readings 200 ms apart.
  let v = rssKiB(pid);
  for (let i = 0; i < 5; i++) {
    await sleep(200);
    v = rssKiB(pid);
  }
  return v;
}

const progress = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function memoryPerConnection(url, login, pid) {
  progress(`memory: ${url}`);
  const warm = await openMany(url, login, 50);  // first-use allocations are not per-connection cost
  await closeAll(warm);
  const before = await settleRss(pid);
  const t0 = performance.now();
  const sockets = await openMany(url, login, CONNECTIONS);
  const openSeconds = (performance.now() - t0) / 1000;
  const after = await settleRss(pid);
  await closeAll(sockets);
  return { before, after, perConnKiB: (after - before) / CONNECTIONS, openSeconds };
}

async function fanOut(url, login) {
  progress(`fan-out: ${url}`);
  const counts = new Int32Array(SUBSCRIBERS);
  let done = 0;
  let finish;
  const finished = new Promise((r) => (finish = r));
  const subs = await openMany(url, login, SUBSCRIBERS, (i, text) => {
    let n = 0;
    for (let p = text.indexOf('\0'); p >= 0; p = text.indexOf('\0', p + 1)) n++;
    const before = counts[i];
    counts[i] += n;
    if (before < MESSAGES && counts[i] >= MESSAGES && ++done === SUBSCRIBERS) finish();
  });
  // Subscribe everyone and wait for every receipt, so no message is sent before all are listening.
  await Promise.all(subs.map((ws, i) => new Promise((resolve) => {
    const onMsg = (data) => {
      if (String(data).startsWith('RECEIPT')) {
        ws.off('message', onMsg);
        resolve();
      }
    };
    ws.on('message', onMsg);
    ws.send(`SUBSCRIBE\nid:s${i}\ndestination:/topic/bench.fanout\nack:auto\nreceipt:sub-${i}\n\n\0`);
  })));
  progress('fan-out: all subscribed');
  counts.fill(0);
  const publisher = await stompConnect(url, login);
  const body = 'x'.repeat(SIZE);
  const minCount = () => {
    let m = Infinity;
    for (const c of counts) if (c < m) m = c;
    return m;
  };
  const t0 = performance.now();
  for (let sent = 0; sent < MESSAGES;) {
    while (sent - minCount() >= WINDOW) await sleep(1);  // back-pressure from the slowest subscriber
    publisher.send(`SEND\ndestination:/topic/bench.fanout\ncontent-type:text/plain\n\n${body}\0`);
    sent++;
  }
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await closeAll([...subs, publisher]);
  return { seconds, deliveriesPerSec: (MESSAGES * SUBSCRIBERS) / seconds };
}

function rabbitPid() {
  const base = process.env.STOMPWIRE_RABBITMQ_DIR ?? '/tmp/stompwire-rabbitmq';
  return Number(readFileSync(path.join(base, 'rabbitmq.pid'), 'utf8').trim());
}

async function main() {
  console.log(`bench/server: ${CONNECTIONS} idle connections; fan-out 1 -> ${SUBSCRIBERS}, ${MESSAGES} messages of ${SIZE} B, window ${WINDOW}`);
  const results = {};

  const server = await startServer({
    args: ['--max-connections', String(CONNECTIONS + SUBSCRIBERS + 100), '--rate-limit-user', '0', '--rate-limit-ip', '0',
      '--heartbeat-send', '0', '--heartbeat-receive', '0', '--log-level', 'warn'],
  });
  try {
    results.stompwire = {
      memory: await memoryPerConnection(server.url, 'bench', server.process.pid),
      fanout: await fanOut(server.url, 'bench'),
    };
  } finally {
    await server.stop();
  }

  if (WITH_RABBIT) {
    execFileSync(path.join(repoRoot, 'scripts/rabbitmq'), ['start'], { stdio: 'inherit' });
    const url = `ws://127.0.0.1:${process.env.STOMPWIRE_RABBITMQ_WS_PORT ?? 15674}/ws`;
    results.rabbitmq = {
      memory: await memoryPerConnection(url, 'guest', rabbitPid()),
      fanout: await fanOut(url, 'guest'),
    };
  }

  const row = (name, r) =>
    `${name.padEnd(18)} ${r.memory.perConnKiB.toFixed(2).padStart(10)} KiB/conn  (RSS ${(r.memory.before / 1024).toFixed(1)} -> ${(r.memory.after / 1024).toFixed(1)} MiB, opened in ${r.memory.openSeconds.toFixed(1)} s)   ${Math.round(r.fanout.deliveriesPerSec).toLocaleString('en-US').padStart(12)} deliveries/s (${r.fanout.seconds.toFixed(2)} s)`;
  console.log('');
  console.log(row('stompwire-server', results.stompwire));
  if (results.rabbitmq) {
    console.log(row('RabbitMQ Web-STOMP', results.rabbitmq));
    const mem = results.rabbitmq.memory.perConnKiB / results.stompwire.memory.perConnKiB;
    const fan = results.stompwire.fanout.deliveriesPerSec / results.rabbitmq.fanout.deliveriesPerSec;
    console.log('');
    console.log(`memory per idle connection: stompwire uses ${mem.toFixed(1)}x less than RabbitMQ (target <= 10 KiB: ${results.stompwire.memory.perConnKiB <= 10 ? 'met' : 'missed'})`);
    console.log(`fan-out deliveries/s: stompwire ${fan.toFixed(2)}x RabbitMQ`);
  }
  console.log(`\nJSON ${JSON.stringify(results)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
