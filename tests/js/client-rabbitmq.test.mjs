// Interop: the npm package against RabbitMQ's Web-STOMP plugin (scripts/rabbitmq start: a private
// RabbitMQ on ws://127.0.0.1:15674/ws, guest/guest, web_stomp.ws_frame = binary). Skipped with the reason
// when nothing answers there; STOMPWIRE_RABBITMQ_URL points elsewhere (loopback only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, init } from '../../bindings/js/stompwire.mjs';
import { until } from './support/mock-broker.mjs';

const url = process.env.STOMPWIRE_RABBITMQ_URL ?? 'ws://127.0.0.1:15674/ws';

async function reachable() {
  const { WebSocket } = await import('ws');
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['v12.stomp']);
    const done = (ok) => {
      clearTimeout(timer);
      ws.onopen = ws.onerror = null;
      ws.on('error', () => {});
      ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2000);
    ws.onopen = () => done(true);
    ws.onerror = () => done(false);
  });
}

await init();
const skip = (await reachable()) ? false : `RabbitMQ Web-STOMP not reachable at ${url} (run scripts/rabbitmq start)`;
const tag = `${process.pid}-${Date.now()}`;
// RabbitMQ reads CONNECT's host header as the vhost: send none; its heart-beat minimum is 1000 ms.
const options = { brokerURL: url, connectHeaders: { login: 'guest', passcode: 'guest' }, heartbeatIncoming: 1000, heartbeatOutgoing: 1000 };

async function connect() {
  const c = await Client.create(options);
  c.activate();
  await until(() => c.connected, 'CONNECTED from RabbitMQ', 10000);
  return c;
}

test('RabbitMQ: topic pub/sub with receipts, UTF-8 + NUL and binary bodies, custom headers', { skip }, async () => {
  const c = await connect();
  try {
    const got = [];
    const dest = `/topic/stompwire-js.${tag}`;
    c.subscribe(dest, (m) => got.push(m));
    await c.publish({ destination: dest, body: 'sync', receipt: true });
    await until(() => got.length === 1, 'sync message');
    const text = 'grüße\0日本';
    await c.publish({ destination: dest, body: text, headers: { 'x-app': 'stompwire' }, receipt: true });
    await c.publish({ destination: dest, binaryBody: new Uint8Array([0, 128, 255]), receipt: true });
    await until(() => got.length === 3, 'messages');
    assert.equal(got[1].body, text);
    assert.equal(got[1].headers['x-app'], 'stompwire', 'RabbitMQ copies SEND headers into MESSAGE');
    assert.deepEqual([...got[2].binaryBody], [0, 128, 255]);
  } finally {
    await c.deactivate();
    c.dispose();
  }
});

test('RabbitMQ: queue with client-individual acks; NACK requeues; transactions', { skip }, async () => {
  const c = await connect();
  try {
    const got = [];
    const dest = `/queue/stompwire-js-${tag}`;
    c.subscribe(dest, (m) => got.push(m), { ack: 'client-individual', 'auto-delete': 'true', durable: 'false' });
    await c.publish({ destination: dest, body: 'job', receipt: true });
    await until(() => got.length === 1, 'job', 10000);
    got[0].nack();
    await until(() => got.length === 2, 'redelivery', 10000);
    assert.equal(got[1].body, 'job');
    got[1].ack();
    const tx = c.begin();
    await tx.publish({ destination: dest, body: 'tx-job' });
    tx.commit();
    await until(() => got.length === 3, 'committed job', 10000);
    assert.equal(got[2].body, 'tx-job');
    got[2].ack();
  } finally {
    await c.deactivate();
    c.dispose();
  }
});
