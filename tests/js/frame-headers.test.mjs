// A received frame's headers as the JS layer decodes them (readFrame and Frame.headers in stompwire.mjs):
// one decode when the header block is ASCII, one per name and value when it is not (UTF-8 lengths are
// bytes, the strings' are UTF-16 units), with the body ASCII or not; a repeated header keeps its first value.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, init } from '../../bindings/js/stompwire.mjs';
import { MockBroker, until } from './support/mock-broker.mjs';

await init();
const b = await new MockBroker().start();
const c = await Client.create({ brokerURL: b.url, heartbeatIncoming: 0, heartbeatOutgoing: 0 });
after(async () => {
  c.dispose();
  await b.stop().catch(() => {});
});
c.activate();
await until(() => c.connected, 'CONNECTED');

async function roundTrip(destination, headers, body) {
  const got = [];
  const sub = c.subscribe(destination, (m) => got.push(m));
  await until(() => b.framesOf('SUBSCRIBE').some((f) => f.headers.destination === destination), 'SUBSCRIBE');
  await c.publish({ destination, headers, body, receipt: true });
  await until(() => got.length, 'MESSAGE');
  sub.unsubscribe();
  return got[0];
}

for (const [what, body] of [['ASCII body', 'plain body'], ['UTF-8 body', 'grüße, 日本']]) {
  test(`non-ASCII header names and values, with headers after them (${what})`, async () => {
    const headers = { 'x-ü': 'grüße日本', 'x-after': 'plain', 'x-émoji': '🎉 ok', 'x-last': 'end' };
    const m = await roundTrip(`/topic/h-${body.length}`, headers, body);
    for (const [k, v] of Object.entries(headers)) assert.equal(m.headers[k], v, k);
    assert.equal(m.headers.destination, `/topic/h-${body.length}`);
    assert.equal(m.body, body);
  });

  test(`ASCII headers around a value with escapes (${what})`, async () => {
    const headers = { 'x-a': 'b:c\nd\\e', 'x-b': 'two' };
    const m = await roundTrip(`/topic/e-${body.length}`, headers, body);
    assert.equal(m.headers['x-a'], 'b:c\nd\\e');
    assert.equal(m.headers['x-b'], 'two');
    assert.equal(m.body, body);
  });
}
