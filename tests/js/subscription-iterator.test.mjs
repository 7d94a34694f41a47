// A Subscription as an async iterable, beyond `for await ... break` (client-core.test.mjs): messages that
// arrive before the first next() wait for it, next() calls made ahead of the messages get them in order,
// a callback and an iterator both see every message, return() unsubscribes, and the end of the
// subscription (unsubscribe, dispose) ends the iteration.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, init } from '../../bindings/js/stompwire.mjs';
import { MockBroker, until } from './support/mock-broker.mjs';

await init();
const brokers = [];
after(async () => {
  for (const b of brokers) await b.stop().catch(() => {});
});

async function connected() {
  const b = await new MockBroker().start();
  brokers.push(b);
  const c = await Client.create({ brokerURL: b.url, heartbeatIncoming: 0, heartbeatOutgoing: 0 });
  c.activate();
  await until(() => c.connected, 'CONNECTED');
  return { b, c };
}

const publish = (c, dest, n) => Promise.all(Array.from({ length: n }, (_, i) => c.publish({ destination: dest, body: `m${i}`, receipt: true })));

test('messages before the first next() are kept; next() calls ahead of them resolve in order', async () => {
  const { b, c } = await connected();
  const sub = c.subscribe('/topic/early');
  await until(() => b.framesOf('SUBSCRIBE').length, 'SUBSCRIBE');
  await publish(c, '/topic/early', 2);
  const it = sub[Symbol.asyncIterator]();
  assert.deepEqual([(await it.next()).value.body, (await it.next()).value.body], ['m0', 'm1']);
  // Three next() calls waiting at once, then three messages.
  const pending = [it.next(), it.next(), it.next()];
  for (let i = 2; i < 5; i++) await c.publish({ destination: '/topic/early', body: `m${i}` });
  const got = await Promise.all(pending);
  assert.deepEqual(got.map((r) => [r.value.body, r.done]), [['m2', false], ['m3', false], ['m4', false]]);
  assert.deepEqual(await it.return(), { value: undefined, done: true });
  assert.equal(sub.active, false);
  await until(() => b.framesOf('UNSUBSCRIBE').length, 'UNSUBSCRIBE');
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  c.dispose();
});

test('a callback and an iterator on one subscription both get every message', async () => {
  const { b, c } = await connected();
  const seen = [];
  const sub = c.subscribe('/topic/both', (m) => seen.push(m.body));
  await until(() => b.framesOf('SUBSCRIBE').length, 'SUBSCRIBE');
  const it = sub[Symbol.asyncIterator]();
  await publish(c, '/topic/both', 3);
  const iterated = [];
  for (let i = 0; i < 3; i++) iterated.push((await it.next()).value.body);
  assert.deepEqual(seen, ['m0', 'm1', 'm2']);
  assert.deepEqual(iterated, ['m0', 'm1', 'm2']);
  c.dispose();
});

test('unsubscribe() and dispose() end an iteration that waits for a message', async () => {
  const { b, c } = await connected();
  const one = c.subscribe('/topic/one');
  const two = c.subscribe('/topic/two');
  await until(() => b.framesOf('SUBSCRIBE').length === 2, 'SUBSCRIBE x2');
  const drain = async (sub) => {
    const got = [];
    for await (const m of sub) got.push(m.body);
    return got;
  };
  const first = drain(one);
  const second = drain(two);
  await c.publish({ destination: '/topic/one', body: 'before', receipt: true });
  one.unsubscribe();
  assert.deepEqual(await first, ['before']);
  c.dispose();
  assert.deepEqual(await second, []);
  assert.equal(two.active, false);
});
