// The npm package against the reference server (stompwire-server) started as a process on a loopback
// port: the behaviours of the native integration tests, through the wasm core and `ws`. Skipped with a
// reason until tests/js/support/server.mjs (from the server branch) and the binary are there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, init } from '../../bindings/js/stompwire.mjs';
import { until } from './support/mock-broker.mjs';

const helper = new URL('./support/server.mjs', import.meta.url);
let support = null;
let skip = false;
if (!existsSync(fileURLToPath(helper))) {
  skip = 'tests/js/support/server.mjs is not in this tree yet (reference server not merged)';
} else {
  support = await import(helper);
  if (!existsSync(support.serverBinary())) skip = `no stompwire-server at ${support.serverBinary()} (build the native preset)`;
}

// Heart-beats every 100 ms both ways, so that a lost one is noticed in ~200 ms.
const serverArgs = ['--fault-injection', '--heartbeat-send', '100', '--heartbeat-receive', '100', '--user', 'ann:pw', '--user', 'bob:pw'];
const clientOptions = { heartbeatIncoming: 100, heartbeatOutgoing: 100, connectHeaders: { login: 'ann', passcode: 'pw' }, reconnect: { initialDelay: 20, maxDelay: 100 } };
let server;
const clients = [];

before(async () => {
  if (skip) return;
  await init();
  server = await support.startServer({ args: serverArgs });
});
after(async () => {
  for (const c of clients) c.dispose();
  if (server) await server.stop();
});

async function connect(options = {}) {
  const c = await Client.create({ brokerURL: server.url, ...clientOptions, ...options });
  clients.push(c);
  c.activate();
  await until(() => c.connected, 'CONNECTED from stompwire-server');
  return c;
}

async function post(path) {
  const r = await support.httpGet(`${server.httpUrl}${path}`, { method: 'POST' });
  assert.equal(r.status, 200, `${path}: ${r.status} ${r.body}`);
}

test('reference server: pub/sub with text (UTF-8 + NUL) and binary bodies, receipts', { skip }, async () => {
  const a = await connect();
  const b = await connect({ connectHeaders: { login: 'bob', passcode: 'pw' } });
  const got = [];
  b.subscribe('/topic/js', (m) => got.push(m));
  await b.publish({ destination: '/topic/js', body: 'sync', receipt: true }); // SUBSCRIBE is processed
  got.length = 0;
  const text = 'grüße\0日本\0';
  await a.publish({ destination: '/topic/js', body: text, headers: { 'content-type': 'text/plain' }, receipt: true });
  await a.publish({ destination: '/topic/js', binaryBody: new Uint8Array([0, 1, 254, 255]), receipt: true });
  await until(() => got.length === 2, 'two MESSAGE frames');
  assert.equal(got[0].body, text);
  assert.equal(got[0].headers.destination, '/topic/js');
  assert.deepEqual([...got[1].binaryBody], [0, 1, 254, 255]);
  assert.ok(a.metrics().lastReceiptRtt >= 0);
});

test('reference server: queue with client-individual acks, nack redelivers', { skip }, async () => {
  const c = await connect();
  const got = [];
  c.subscribe('/queue/js-work', (m) => got.push(m), { ack: 'client-individual' });
  await c.publish({ destination: '/queue/js-work', body: 'job', receipt: true });
  await until(() => got.length === 1, 'job');
  got[0].nack();
  await until(() => got.length === 2, 'redelivery after NACK');
  assert.equal(got[1].body, 'job');
  got[1].ack();
  await c.publish({ destination: '/queue/js-work', body: 'next', receipt: true });
  await until(() => got.length === 3, 'next job');
  assert.equal(got[2].body, 'next', 'the acked job is not redelivered');
  got[2].ack();
});

test('reference server: a transaction delivers on COMMIT only', { skip }, async () => {
  const c = await connect();
  const got = [];
  c.subscribe('/topic/js-tx', (m) => got.push(m.body));
  await c.publish({ destination: '/topic/js-tx', body: 'sync', receipt: true });
  await until(() => got.length === 1, 'sync');
  const tx = c.begin();
  await tx.publish({ destination: '/topic/js-tx', body: 'in-tx' });
  await c.publish({ destination: '/topic/js-tx', body: 'outside', receipt: true });
  await until(() => got.length === 2, 'outside');
  assert.deepEqual(got, ['sync', 'outside']);
  tx.commit();
  await until(() => got.length === 3, 'committed');
  const tx2 = c.begin();
  await tx2.publish({ destination: '/topic/js-tx', body: 'aborted' });
  tx2.abort();
  await c.publish({ destination: '/topic/js-tx', body: 'end', receipt: true });
  await until(() => got.length === 4, 'end');
  assert.deepEqual(got, ['sync', 'outside', 'in-tx', 'end']);
});

test('reference server: heart-beat loss is detected and the client reconnects', { skip }, async () => {
  const c = await connect();
  const reasons = [];
  c.onDisconnect((e) => reasons.push(e?.code));
  await until(() => c.metrics().heartbeatsIn >= 1, 'server heart-beats');
  await post('/admin/fault/heartbeats?pause=1');
  try {
    await until(() => reasons.length, 'heart-beat timeout', 5000);
    assert.equal(reasons[0], 'heartbeat_timeout');
  } finally {
    await post('/admin/fault/heartbeats?pause=0');
  }
  await until(() => c.connected, 'reconnected');
});

test('reference server: restart on the same port, resubscribe and offline queue flush in order', { skip }, async () => {
  const c = await connect();
  const got = [];
  c.subscribe('/topic/js-restart', (m) => got.push(m.body));
  await c.publish({ destination: '/topic/js-restart', body: 'before', receipt: true });
  await until(() => got.length === 1, 'before');
  const port = server.port;
  await server.stop();
  await until(() => c.state === 'reconnecting', 'reconnecting');
  const queued = [c.publish({ destination: '/topic/js-restart', body: 'q1' }), c.publish({ destination: '/topic/js-restart', body: 'q2', receipt: true })];
  assert.equal(c.metrics().queueDepth, 2);
  server = await support.startServer({ args: ['--listen', `127.0.0.1:${port}`, ...serverArgs] });
  await Promise.all(queued);
  await until(() => got.length === 3, 'flushed after reconnect', 10000);
  assert.deepEqual(got, ['before', 'q1', 'q2']);
});

test('reference server: bad login gives onStompError, graceful deactivate gives a clean disconnect', { skip }, async () => {
  const bad = await Client.create({ brokerURL: server.url, ...clientOptions, connectHeaders: { login: 'ann', passcode: 'wrong' }, reconnect: { enabled: false } });
  clients.push(bad);
  const errors = [];
  bad.onStompError((f) => errors.push(f.headers.message));
  bad.activate();
  await until(() => bad.state === 'failed', 'failed');
  assert.match(errors[0] ?? '', /authentication failed/);
  const c = await connect();
  let disconnect = 'none';
  c.onDisconnect((e) => (disconnect = e));
  await c.deactivate();
  assert.equal(disconnect, undefined);
  assert.equal(c.state, 'inactive');
});
