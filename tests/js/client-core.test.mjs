// The npm package (bindings/js over the wasm core) against a STOMP broker on a loopback port: connect,
// pub/sub, queues with ack/nack, receipts, transactions, restart with offline-queue flush and resubscribe,
// heart-beat loss, graceful deactivate, binary and UTF-8/NUL bodies, errors with codes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, heapUsed, init } from '../../bindings/js/stompwire.mjs';
import { MockBroker, until } from './support/mock-broker.mjs';

await init();
const brokers = [];
async function broker(options) {
  const b = await new MockBroker(options).start();
  brokers.push(b);
  return b;
}
after(async () => {
  for (const b of brokers) await b.stop().catch(() => {});
});

const fast = { heartbeatIncoming: 0, heartbeatOutgoing: 0, reconnect: { initialDelay: 20, maxDelay: 50 } };

async function connected(b, options = {}) {
  const c = await Client.create({ brokerURL: b.url, ...fast, ...options });
  c.activate();
  await until(() => c.connected, 'CONNECTED');
  return c;
}

test('connects, reports states in order, deactivates gracefully with DISCONNECT + receipt', async () => {
  const b = await broker();
  const states = [];
  let connectFrame;
  const c = new Client({ brokerURL: b.url, ...fast, onConnect: (f) => (connectFrame = f) });
  c.onStateChange((s) => states.push(`${s.previous}>${s.state}`));
  assert.equal(c.state, 'inactive');
  c.activate();
  await until(() => c.connected, 'CONNECTED');
  assert.equal(connectFrame.command, 'CONNECTED');
  assert.equal(connectFrame.headers.version, '1.2');
  assert.equal(b.framesOf('CONNECT')[0].headers['accept-version'], '1.0,1.1,1.2');
  let disconnected = 'not called';
  c.onDisconnect((e) => (disconnected = e));
  await c.deactivate();
  assert.equal(c.state, 'inactive');
  assert.equal(disconnected, undefined, 'graceful: no error');
  assert.ok(b.framesOf('DISCONNECT')[0].headers.receipt, 'DISCONNECT asks for a receipt');
  assert.deepEqual(states, ['inactive>connecting', 'connecting>connected', 'connected>deactivating', 'deactivating>inactive']);
  c.dispose();
});

test('pub/sub on a topic: headers, UTF-8 body with NUL (content-length), several listeners', async () => {
  const b = await broker();
  const c = await connected(b);
  const got = [];
  const second = [];
  const s = c.subscribe('/topic/chat', (m) => got.push(m), { 'x-custom': 'yes' });
  c.subscribe('/topic/chat', (m) => second.push(m));
  assert.equal(b.framesOf('SUBSCRIBE').at(-2)?.headers['x-custom'] ?? (await until(() => b.framesOf('SUBSCRIBE').length === 2, 'SUBSCRIBE') && b.framesOf('SUBSCRIBE')[0].headers['x-custom']), 'yes');
  const body = 'grüße\0日本\0end';
  await c.publish({ destination: '/topic/chat', body, headers: { 'content-type': 'text/plain', 'x-a': 'b:c\nd' } });
  await until(() => got.length && second.length, 'MESSAGE');
  const m = got[0];
  assert.equal(m.command, 'MESSAGE');
  assert.equal(m.body, body);
  assert.equal(m.isBinaryBody, false);
  assert.equal(m.headers.destination, '/topic/chat');
  assert.equal(m.headers.subscription, s.id);
  assert.equal(m.headers['x-a'], 'b:c\nd', 'escaped header round trip');
  assert.deepEqual([...m.binaryBody], [...Buffer.from(body)]);
  const sent = b.framesOf('SEND')[0];
  assert.equal(sent.headers['content-length'], String(Buffer.byteLength(body)));
  s.unsubscribe();
  await until(() => b.framesOf('UNSUBSCRIBE').length === 1, 'UNSUBSCRIBE');
  assert.equal(s.active, false);
  await c.publish({ destination: '/topic/chat', body: 'two' });
  await until(() => second.length === 2, 'second MESSAGE');
  assert.equal(got.length, 1, 'nothing after unsubscribe');
  c.dispose();
});

test('binary bodies go out as binary WebSocket messages and come back as binaryBody', async () => {
  const b = await broker();
  const c = await connected(b);
  const got = [];
  c.subscribe('/topic/bin', (m) => got.push(m));
  const bytes = new Uint8Array(300).map((_, i) => (i * 7) & 255);
  await c.publish({ destination: '/topic/bin', binaryBody: bytes, headers: { 'content-type': 'application/octet-stream' } });
  await until(() => got.length, 'MESSAGE');
  assert.equal(b.framesOf('SEND')[0].binary, true, 'sent as a binary message');
  assert.equal(got[0].isBinaryBody, true);
  assert.deepEqual([...got[0].binaryBody], [...bytes]);
  await c.publish({ destination: '/topic/bin', binaryBody: new Uint8Array([1, 2, 3]).buffer });
  await until(() => got.length === 2, 'ArrayBuffer body');
  assert.deepEqual([...got[1].binaryBody], [1, 2, 3]);
  // Views send their own bytes only, not the whole buffer behind them.
  const big = new Uint8Array([9, 8, 7, 6, 5, 4]);
  await c.publish({ destination: '/topic/bin', binaryBody: big.subarray(1, 4) });
  await c.publish({ destination: '/topic/bin', binaryBody: new DataView(big.buffer, 2, 3) });
  await c.publish({ destination: '/topic/bin', binaryBody: new Uint16Array(big.buffer, 2, 2) });
  await until(() => got.length === 5, 'view bodies');
  assert.deepEqual(got.slice(2).map((m) => [...m.binaryBody]), [[8, 7, 6], [7, 6, 5], [7, 6, 5, 4]]);
  c.dispose();
});

test('queues: client-individual acks, nack redelivers, ack twice is an error with a code', async () => {
  const b = await broker();
  const c = await connected(b);
  const got = [];
  c.subscribe('/queue/work', (m) => got.push(m), { ack: 'client-individual' });
  await until(() => b.framesOf('SUBSCRIBE').length, 'SUBSCRIBE');
  await c.publish({ destination: '/queue/work', body: 'job-1' });
  await until(() => got.length === 1, 'job');
  got[0].nack();
  await until(() => got.length === 2, 'redelivery');
  assert.equal(got[1].body, 'job-1');
  assert.equal(got[1].headers.redelivered, 'true');
  got[1].ack();
  await until(() => b.framesOf('ACK').length === 1, 'ACK');
  assert.equal(b.framesOf('ACK')[0].headers.id, got[1].headers.ack);
  assert.throws(() => got[1].ack(), { code: 'invalid_state' });
  c.dispose();
});

test('ack on an auto subscription fails with invalid_state', async () => {
  const b = await broker();
  const c = await connected(b);
  const got = [];
  c.subscribe('/topic/x', (m) => got.push(m));
  await c.publish({ destination: '/topic/x', body: '1' });
  await until(() => got.length, 'MESSAGE');
  assert.throws(() => got[0].ack(), (e) => e instanceof Error && e.code === 'invalid_state');
  c.dispose();
});

test('receipts: publish resolves on RECEIPT; receipt_timeout when none comes', async () => {
  const b = await broker();
  const c = await connected(b, { receiptTimeout: 100 });
  await c.publish({ destination: '/topic/r', body: 'x', receipt: true });
  const send = b.framesOf('SEND')[0];
  assert.ok(send.headers.receipt, 'receipt header sent');
  assert.equal(c.metrics().pendingReceipts, 0);
  assert.ok(c.metrics().lastReceiptRtt >= 0);
  b.silent = true; // the broker stops answering
  await assert.rejects(c.publish({ destination: '/topic/r', body: 'y', receipt: true }), { code: 'receipt_timeout' });
  b.silent = false;
  c.dispose();
});

test('transactions: sends and acks are held until COMMIT, dropped on ABORT', async () => {
  const b = await broker();
  const c = await connected(b);
  const got = [];
  c.subscribe('/topic/tx', (m) => got.push(m));
  await until(() => b.framesOf('SUBSCRIBE').length, 'SUBSCRIBE');
  const tx = c.begin();
  assert.match(tx.id, /.+/);
  await tx.publish({ destination: '/topic/tx', body: 'in-tx' });
  await c.publish({ destination: '/topic/tx', body: 'outside', receipt: true });
  assert.deepEqual(got.map((m) => m.body), ['outside']);
  tx.commit();
  await until(() => got.length === 2, 'committed message');
  assert.equal(got[1].body, 'in-tx');
  assert.equal(b.framesOf('BEGIN')[0].headers.transaction, tx.id);
  assert.throws(() => tx.commit(), { code: 'invalid_state' });
  const tx2 = c.begin('my-tx');
  assert.equal(tx2.id, 'my-tx');
  await tx2.publish({ destination: '/topic/tx', body: 'aborted' });
  tx2.abort();
  await c.publish({ destination: '/topic/tx', body: 'after', receipt: true });
  await until(() => got.length === 3, 'after');
  assert.deepEqual(got.map((m) => m.body), ['outside', 'in-tx', 'after']);
  await c.deactivate();
  assert.throws(() => c.begin(), { code: 'not_connected' });
  c.dispose();
});

test('server restart: resubscribes with the same ids and flushes the offline queue in order', async () => {
  const b = await broker();
  const c = await connected(b);
  const got = [];
  const closes = [];
  const disconnects = [];
  c.onWebSocketClose((e) => closes.push(e));
  c.onDisconnect((e) => disconnects.push(e));
  const s = c.subscribe('/topic/r', (m) => got.push(m.body));
  await until(() => b.framesOf('SUBSCRIBE').length === 1, 'SUBSCRIBE');
  await b.stop();
  await until(() => c.state === 'reconnecting', 'reconnecting');
  assert.equal(disconnects.length, 1);
  assert.equal(disconnects[0]?.code, 'connection_closed');
  // One close per attempt: the dropped connection's, plus one for each refused reconnect attempt that
  // the jittered delay (up to 20 ms, possibly ~0) let run before this line.
  assert.equal(closes.length, c.metrics().attempts);
  // Published while offline: queued, sent in order once the server is back.
  const p1 = c.publish({ destination: '/topic/r', body: 'q1' });
  const p2 = c.publish({ destination: '/topic/r', body: 'q2', receipt: true });
  assert.equal(c.metrics().queueDepth, 2);
  await b.start(b.port);
  await Promise.all([p1, p2]);
  await until(() => got.length === 2, 'flushed messages');
  assert.deepEqual(got, ['q1', 'q2']);
  const subs = b.framesOf('SUBSCRIBE');
  assert.equal(subs.at(-1).headers.id, s.id, 'same subscription id after reconnect');
  assert.ok(c.metrics().reconnects >= 1);
  c.dispose();
});

test('offline queue bound: queue_full, and deactivate fails what is queued with deactivated', async () => {
  const c = await Client.create({ brokerURL: 'ws://127.0.0.1:1/ws', ...fast, offlineQueue: { maxMessages: 2 } });
  c.activate();
  const a = c.publish({ destination: '/q', body: '1' });
  const b2 = c.publish({ destination: '/q', body: '2' });
  await assert.rejects(c.publish({ destination: '/q', body: '3' }), (e) => e.code === 'queue_full' && e instanceof Error);
  await c.deactivate();
  await assert.rejects(a, { code: 'deactivated' });
  await assert.rejects(b2, { code: 'deactivated' });
  c.dispose();
  await assert.rejects(c.publish({ destination: '/q', body: 'x' }), { code: 'deactivated' });
});

test('heart-beat loss closes the connection and reconnects', async () => {
  const b = await broker({ heartbeat: [50, 0] });
  const c = await Client.create({ brokerURL: b.url, heartbeatIncoming: 50, heartbeatOutgoing: 0, reconnect: { initialDelay: 10, maxDelay: 20 } });
  const reasons = [];
  c.onDisconnect((e) => reasons.push(e?.code));
  c.activate();
  await until(() => c.connected, 'CONNECTED');
  await until(() => c.metrics().heartbeatsIn >= 2, 'heart-beats from the server');
  b.silent = true;
  await until(() => reasons.length, 'disconnect', 3000);
  assert.equal(reasons[0], 'heartbeat_timeout');
  b.silent = false;
  await until(() => c.connected, 'reconnected');
  c.dispose();
});

test('outgoing heart-beats are sent when the client is quiet', async () => {
  const b = await broker({ heartbeat: [0, 40] });
  const c = await connected(b, { heartbeatOutgoing: 40 });
  const session = [...b.sessions][0];
  await until(() => session.state.heartbeats >= 2, 'EOLs from the client');
  c.dispose();
});

test('ERROR frame: onStompError with the frame, then reconnect policy applies', async () => {
  const b = await broker({ rejectLogin: 'alice' });
  const errors = [];
  const c = await Client.create({ brokerURL: b.url, ...fast, connectHeaders: { login: 'bob' }, reconnect: { enabled: false } });
  c.onStompError((f) => errors.push(f));
  c.activate();
  await until(() => c.state === 'failed', 'failed');
  assert.equal(errors[0].command, 'ERROR');
  assert.equal(errors[0].headers.message, 'bad login');
  assert.equal(c.metrics().lastError, 'stomp_error');
  // beforeConnect can fix the headers before the next attempt.
  c.connectHeaders = { login: 'alice' };
  c.activate();
  await until(() => c.connected, 'CONNECTED with new headers');
  assert.equal(b.framesOf('CONNECT').at(-1).headers.login, 'alice');
  c.dispose();
});

test('beforeConnect runs before every attempt and may be async', async () => {
  const b = await broker({ rejectLogin: 'token-2' });
  let n = 0;
  const c = await Client.create({
    brokerURL: b.url,
    ...fast,
    async beforeConnect(client) {
      n++;
      await new Promise((r) => setTimeout(r, 5));
      client.connectHeaders = { login: `token-${n}` };
    },
  });
  c.activate();
  await until(() => c.connected, 'CONNECTED on the second attempt');
  assert.equal(n, 2);
  c.dispose();
});

test('a beforeConnect that never settles: each timed-out attempt and dispose() free its pending done', async () => {
  const b = await broker();
  const before = heapUsed();
  let calls = 0;
  const c = await Client.create({
    brokerURL: b.url,
    ...fast,
    connectionTimeout: 20,
    beforeConnect: () => {
      calls++;
      return new Promise(() => {});
    },
  });
  c.activate();
  await until(() => calls >= 3, 'three attempts');
  assert.equal(b.framesOf('CONNECT').length, 0, 'no attempt gets past beforeConnect');
  c.dispose();
  await new Promise((r) => setImmediate(r)); // posted cleanup
  assert.equal(heapUsed(), before);
});

test('invalid options and subscribe errors are Errors with codes', async () => {
  await assert.rejects(Client.create({}), (e) => e.code === 'invalid_argument' && e.option === 'brokerURL');
  await assert.rejects(Client.create({ brokerURL: 'ws://x', reconnect: { multiplier: 0.5 } }), { code: 'invalid_argument', option: 'reconnect.multiplier' });
  const c = await Client.create({ brokerURL: 'ws://127.0.0.1:1/ws' });
  c.subscribe('/a', () => {}, { id: 'same' });
  assert.throws(() => c.subscribe('/b', () => {}, { id: 'same' }), { code: 'invalid_argument' });
  assert.throws(() => c.subscribe('/c', () => {}, { ack: 'sometimes' }), { code: 'invalid_argument' });
  await assert.rejects(c.publish({ destination: '', body: 'x' }), { code: 'invalid_argument' });
  c.dispose();
});

test('a subscription is an async iterable; break unsubscribes', async () => {
  const b = await broker();
  const c = await connected(b);
  const sub = c.subscribe('/topic/it');
  await until(() => b.framesOf('SUBSCRIBE').length, 'SUBSCRIBE');
  for (let i = 0; i < 3; i++) c.publish({ destination: '/topic/it', body: `n${i}` });
  const seen = [];
  for await (const m of sub) {
    seen.push(m.body);
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen, ['n0', 'n1', 'n2']);
  assert.equal(sub.active, false);
  await until(() => b.framesOf('UNSUBSCRIBE').length, 'UNSUBSCRIBE');
  c.dispose();
});

test('publishJson / json(), and a JSON parse error has a code', async () => {
  const b = await broker();
  const c = await connected(b);
  const got = [];
  c.subscribe('/topic/j', (m) => got.push(m));
  await c.publishJson('/topic/j', { a: 1, s: 'ü' });
  await c.publish({ destination: '/topic/j', body: '{nope' });
  await c.publishJson('/topic/j', [2], { headers: { 'x-k': 'v', 'content-type': 'application/x+json' }, receipt: true });
  await until(() => got.length === 3, 'messages');
  assert.deepEqual(got[0].json(), { a: 1, s: 'ü' });
  assert.equal(got[0].headers['content-type'], 'application/json');
  assert.throws(() => got[1].json(), { code: 'json_parse_error' });
  assert.deepEqual(got[2].json(), [2]);
  assert.equal(got[2].headers['x-k'], 'v');
  assert.equal(got[2].headers['content-type'], 'application/x+json', "the params' headers win");
  c.dispose();
});

test('re-entrancy: callbacks publish, unsubscribe, dispose; a throwing callback does not break the client', async () => {
  const b = await broker();
  const errors = [];
  const c = await connected(b, { onCallbackError: (e) => errors.push(e) });
  const got = [];
  const s = c.subscribe('/topic/re', (m) => {
    got.push(m.body);
    if (m.body === 'ping') c.publish({ destination: '/topic/re', body: 'pong' });
    if (m.body === 'boom') throw new Error('user bug');
    if (m.body === 'stop') s.unsubscribe();
  });
  await c.publish({ destination: '/topic/re', body: 'ping' });
  await until(() => got.includes('pong'), 'pong');
  await c.publish({ destination: '/topic/re', body: 'boom' });
  await c.publish({ destination: '/topic/re', body: 'stop' });
  await c.publish({ destination: '/topic/re', body: 'after', receipt: true });
  await until(() => got.includes('stop'), 'stop');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].message, 'user bug');
  assert.ok(!got.includes('after'));
  c.subscribe('/topic/re', () => c.dispose());
  await c.publish({ destination: '/topic/re', body: 'dispose me' });
  await until(() => c.state === 'inactive', 'disposed from its own callback');
  c.dispose();
});

test('a WebSocket-like object that fires events synchronously is never re-entered', async () => {
  const b = await broker();
  const { WebSocket } = await import('ws');
  let syncCalls = 0;
  // Wraps ws and fires a fake extra message synchronously from inside send(): the core must not see
  // it until send() has returned.
  class Eager {
    constructor(url, protocols) {
      this.ws = new WebSocket(url, protocols);
      this.ws.binaryType = 'arraybuffer';
      for (const e of ['open', 'message', 'close', 'error']) this.ws[`on${e}`] = (ev) => this[`on${e}`]?.(ev);
    }
    get protocol() { return this.ws.protocol; }
    get readyState() { return this.ws.readyState; }
    get bufferedAmount() { return this.ws.bufferedAmount; }
    send(d) {
      this.ws.send(d);
      if (String(d).startsWith('SEND')) {
        syncCalls++;
        this.onmessage?.({ data: '\n' });
      }
    }
    close(code, reason) { this.ws.close(code, reason); }
  }
  const c = await Client.create({ brokerURL: b.url, ...fast, webSocketFactory: (url, protocols) => new Eager(url, protocols) });
  c.activate();
  await until(() => c.connected, 'CONNECTED');
  const got = [];
  c.subscribe('/topic/e', (m) => got.push(m.body));
  await c.publish({ destination: '/topic/e', body: 'x', receipt: true });
  await until(() => got.length, 'MESSAGE');
  assert.equal(syncCalls, 1);
  assert.ok(c.metrics().heartbeatsIn >= 1, 'the synchronous event arrived later');
  c.dispose();
});

test('no WebSocket and no factory: a clear transport error, retried', async () => {
  const c = await Client.create({
    brokerURL: 'ws://127.0.0.1:1/ws', ...fast,
    webSocketFactory: () => { throw new Error('blocked by policy'); },
    reconnect: { initialDelay: 5, maxDelay: 5, maxAttempts: 2 },
  });
  const errors = [];
  c.onWebSocketError((e) => errors.push(e));
  c.activate();
  await until(() => c.state === 'failed', 'failed after max attempts');
  assert.equal(errors[0].code, 'transport_error');
  assert.equal(errors[0].event.message, 'blocked by policy');
  assert.equal(c.metrics().lastError, 'transport_error');
  assert.equal(c.metrics().attempts, 2);
  c.dispose();
});

test('new Client() before the module is ready queues subscribe/activate/publish', async () => {
  const b = await broker();
  const c = new Client({ brokerURL: b.url, ...fast });
  const got = [];
  c.subscribe('/topic/early', (m) => got.push(m.body));
  c.activate();
  await c.publish({ destination: '/topic/early', body: 'hi', receipt: true });
  await until(() => got.length, 'MESSAGE');
  c.dispose();
});

test('dispose() and Symbol.dispose stop everything; no timers are left behind', async () => {
  const b = await broker();
  const c = await connected(b, { heartbeatIncoming: 1000, heartbeatOutgoing: 1000 });
  c.subscribe('/topic/d', () => {});
  assert.equal(c.connected, true);
  c[Symbol.dispose](); // what `using c = ...` calls (Node 20 has the symbol, not the syntax)
  assert.equal(c.state, 'inactive');
  assert.throws(() => c.subscribe('/x', () => {}), { code: 'invalid_state' });
  await until(() => [...b.sessions].length === 0, 'socket closed by dispose');
});

test('10,000 subscribe/unsubscribe and publish cycles leave the wasm heap where it started', async () => {
  const b = await broker();
  const c = await connected(b);
  let got = 0;
  const sub = c.subscribe('/topic/leak', (m) => (got += m.body.length >= 0));
  const cycles = async (n) => {
    for (let i = 0; i < n; i++) {
      const s = c.subscribe(`/topic/l${i % 200}`, () => {}, { 'x-h': 'v' });
      s.unsubscribe();
      const p = c.publish({ destination: '/topic/leak', body: 'x'.repeat(i % 50), headers: { k: 'v' }, receipt: i % 10 === 0 });
      if (i % 100 === 99) await p;
    }
    await c.publish({ destination: '/topic/leak', body: 'sync', receipt: true });
  };
  // Warm-up: the same pattern once, so that containers reach their working capacity (this loop sends
  // all 10,000 before the first MESSAGE comes back: 1,000 receipts are pending at the peak).
  await cycles(10000);
  await until(() => got === 10001, 'warm-up delivered', 20000);
  await new Promise((r) => setImmediate(r));
  const before = heapUsed();
  await cycles(10000);
  await until(() => got === 20002, 'all delivered', 20000);
  await new Promise((r) => setImmediate(r)); // posted cleanup
  const afterUse = heapUsed();
  assert.equal(c.metrics().pendingReceipts, 0);
  assert.ok(afterUse <= before + 1024, `heap grew from ${before} to ${afterUse}`);
  sub.unsubscribe();
  c.dispose();
});
