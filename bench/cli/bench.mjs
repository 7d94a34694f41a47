// stompwire-cli through a broker: `pub DEST - --receipt` publishes N numbered lines (one message each,
// at most --window unconfirmed), while `sub DEST --count N` prints what arrives. Zero lost means: every
// publish confirmed by a RECEIPT, and the subscriber printed exactly the numbers 1..N, each once, in
// order. Runs against the reference server (started here) and RabbitMQ Web-STOMP (STOMPWIRE_RABBITMQ_URL,
// or `scripts/rabbitmq start` when it is installed), one after the other in the same run.
//   node bench/cli/bench.mjs [--messages 100000] [--window 1000] [--no-rabbitmq]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { startServer, repoRoot } from '../../tests/js/support/server.mjs';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    window: { type: 'string', default: '1000' },
    'no-rabbitmq': { type: 'boolean', default: false },
  },
});
const N = Number(values.messages);
const cli = path.join(process.env.STOMPWIRE_BUILD_DIR ?? path.join(repoRoot, 'build/native'), 'bin/stompwire-cli');

// One run: a subscriber on a fresh queue, then the publisher fed 1..N on stdin.
async function run(name, url, extra = []) {
  const dest = `/queue/bench-cli-${process.pid}-${Date.now()}`;
  const common = ['--url', url, '--quiet', ...extra];
  const sub = spawn(cli, [...common, 'sub', dest, '--count', String(N)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const subExit = once(sub, 'exit');
  let next = 1;
  let bad = 0;
  readline.createInterface({ input: sub.stdout }).on('line', (l) => {
    if (Number(l) !== next) bad++;
    next = Number(l) + 1;
  });
  // The subscriber's SUBSCRIBE goes first: a queue keeps messages for a later consumer anyway.
  const t0 = performance.now();
  const pub = spawn(cli, [...common, 'pub', dest, '-', '--receipt', '--window', values.window], { stdio: ['pipe', 'ignore', 'pipe'] });
  const pubExit = once(pub, 'exit');
  let pubErr = '';
  pub.stderr.on('data', (c) => (pubErr += c));
  const lines = Array.from({ length: N }, (_, i) => String(i + 1)).join('\n') + '\n';
  pub.stdin.on('error', () => {}); // a publisher that exits early is reported below, with its stderr
  pub.stdin.end(lines);
  const [pubCode] = await pubExit;
  const tPub = performance.now() - t0;
  const [subCode] = await subExit;
  const tAll = performance.now() - t0;
  const received = next - 1;
  const ok = pubCode === 0 && subCode === 0 && bad === 0 && received === N;
  return { name, pubCode, subCode, received, outOfOrder: bad, pubMs: tPub, allMs: tAll, ok, pubErr };
}

const results = [];
// Without its default SEND rate limits (10,000/s per user, 20,000/s per IP), which would be what is measured.
const server = await startServer({ args: ['--rate-limit-user', '0', '--rate-limit-ip', '0'] });
try {
  results.push(await run('stompwire-server', server.url));
} finally {
  await server.stop();
}

let rabbitUrl = process.env.STOMPWIRE_RABBITMQ_URL;
if (!values['no-rabbitmq'] && !rabbitUrl) {
  const r = spawnSync(path.join(repoRoot, 'scripts/rabbitmq'), ['start'], { stdio: 'inherit' });
  if (r.status === 0) rabbitUrl = 'ws://127.0.0.1:15674/ws';
}
if (!values['no-rabbitmq'] && rabbitUrl) {
  // RabbitMQ takes CONNECT's host header as a vhost: send "/". No heart-beats: RabbitMQ 3.10's Web-STOMP
  // heart-beat monitor crashes on the flow-control "resume" that a fast publisher triggers
  // (rabbitmq-server #15605) and the connection drops every few thousand messages.
  results.push(await run('RabbitMQ Web-STOMP', rabbitUrl, ['--login', 'guest', '--passcode', 'guest', '--connect-header', 'host:/', '--heartbeat', '0']));
} else if (!values['no-rabbitmq']) {
  console.log('RabbitMQ: not available (scripts/rabbitmq start failed); skipped');
}

console.log(`\nstompwire-cli: ${N.toLocaleString('en')} messages with receipts (window ${values.window}), pub | broker | sub`);
console.log('| broker | confirmed + received | lost | out of order | publish msg/s | end-to-end msg/s |');
console.log('|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.ok ? 'all' : 'NO'} (${r.received.toLocaleString('en')} received) | ${N - r.received} | ${r.outOfOrder} | ${Math.round(N / (r.pubMs / 1000)).toLocaleString('en')} | ${Math.round(N / (r.allMs / 1000)).toLocaleString('en')} |`);
  if (!r.ok) console.log(`  ${r.name}: pub exit ${r.pubCode}, sub exit ${r.subCode}\n${r.pubErr}`);
}
if (results.length > 1) console.log(`ratio stompwire-server / RabbitMQ (end-to-end): ${(results[1].allMs / results[0].allMs).toFixed(2)}x`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
