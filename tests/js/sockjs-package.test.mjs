// The npm package's `transport` option against stompwire-server: 'sockjs' over each sockjs-client
// transport, and 'auto' falling back from a refused or silent WebSocket to SockJS, remembering it.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { Client } from '../../bindings/js/stompwire.mjs';
import { defaultSockJsURL } from '../../bindings/js/transport.mjs';
import { startServer, waitFor } from './support/server.mjs';
import { TRANSPORTS, metric } from './support/sockjs.mjs';

const clients = [];
async function connected(options) {
  const seen = { closes: [], errors: [], connects: 0 };
  const client = await Client.create({
    reconnect: { initialDelay: 50, maxDelay: 200 },
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    onConnect: () => seen.connects++,
    onWebSocketClose: (e) => seen.closes.push(e),
    onStompError: (f) => seen.errors.push(f),
    ...options,
  });
  client.seen = seen;
  clients.push(client);
  client.activate();
  await waitFor(() => client.connected, 10000, 'connected');
  return client;
}

async function roundTrip(client, dest, n = 20) {
  const got = [];
  client.subscribe(dest, (m) => got.push(m.body));
  await client.publish({ destination: dest, body: 'warm-up', receipt: true });
  await waitFor(() => got.length === 1, 5000, 'warm-up message');
  for (let i = 0; i < n; i++) await client.publish({ destination: dest, body: `m${i} \u2028 "q" é`, receipt: i === n - 1 });
  await waitFor(() => got.length === n + 1, 5000, `${n} messages`);
  assert.deepEqual(got.slice(1), Array.from({ length: n }, (_, i) => `m${i} \u2028 "q" é`));
}

// A TCP server that accepts connections and never answers: a WebSocket "upgrade" hangs there.
function blackHole() {
  const sockets = new Set();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    port: srv.address().port,
    close: () => { for (const s of sockets) s.destroy(); srv.close(); },
  })));
}

describe('stompwire npm package: transport option', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--rate-limit-ip', '0', '--rate-limit-user', '0', '--fault-injection'] });
  });
  after(async () => {
    for (const c of clients) c.dispose();
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  });

  test('defaultSockJsURL maps ws(s)://host/ws to http(s)://host/sockjs', () => {
    assert.equal(defaultSockJsURL('ws://127.0.0.1:9/ws'), 'http://127.0.0.1:9/sockjs');
    assert.equal(defaultSockJsURL('wss://h.example/app/ws?access_token=t'), 'https://h.example/app/sockjs?access_token=t');
    assert.equal(defaultSockJsURL('ws://h.example/stomp'), 'http://h.example/stomp');
  });

  test('an unknown transport is refused as an option error', async () => {
    await assert.rejects(Client.create({ brokerURL: server.url, transport: 'carrier-pigeon' }), (e) => e.code === 'invalid_option' && e.option === 'transport');
  });

  for (const t of TRANSPORTS) {
    test(`transport 'sockjs' over ${t}: publish with receipts and subscribe`, async () => {
      const label = t === 'xhr-polling' ? 'xhr' : t.replace('-', '_');
      const before = await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', `transport="${label}"`);
      const client = await connected({ brokerURL: server.url, transport: 'sockjs', sockjsOptions: { transports: [t] } });
      assert.equal(await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', `transport="${label}"`), before + 1);
      await roundTrip(client, `/topic/pkg.${t}`);
      assert.equal(client.transportUsed, 'sockjs');
      await client.deactivate();
    });
  }

  test("transport 'auto' uses WebSocket when it works", async () => {
    const before = await metric(server.httpUrl, 'stompwire_connections_total');
    const sj = await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="xhr_streaming"');
    const client = await connected({ brokerURL: server.url, transport: 'auto' });
    await roundTrip(client, '/topic/pkg.auto.ws');
    assert.equal(client.transportUsed, 'websocket');
    assert.equal(await metric(server.httpUrl, 'stompwire_connections_total'), before + 1);
    assert.equal(await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="xhr_streaming"'), sj);
    await client.deactivate();
  });

  test("transport 'auto' falls back to SockJS when the upgrade is refused, and remembers it", async () => {
    // A path without a WebSocket endpoint (404 to the upgrade) stands in for a proxy that refuses it.
    let wsAttempts = 0;
    const client = await connected({
      brokerURL: server.url.replace('/ws', '/no-websocket-here'),
      webSocketFactory: (url, protocols) => (wsAttempts++, new WebSocket(url, protocols)),
      sockjsURL: `${server.httpUrl}/sockjs`,
      sockjsOptions: { transports: ['xhr-streaming'] },
      transport: 'auto',
    });
    assert.equal(wsAttempts, 1);
    assert.equal(client.transportUsed, 'sockjs');
    await roundTrip(client, '/topic/pkg.auto.refused');
    // The broker closes the session (a frame over --max-frame-size gets ERROR + close): the
    // reconnect goes to SockJS first, no WebSocket attempt.
    const connects = client.seen.connects;
    client.publish({ destination: '/topic/too-big', body: 'x'.repeat(70 * 1024) }).catch(() => {});
    await waitFor(() => client.seen.connects === connects + 1 && client.connected, 10000, 'reconnected');
    assert.equal(client.transportUsed, 'sockjs');
    assert.equal(wsAttempts, 1);
    await roundTrip(client, '/topic/pkg.auto.refused2');
    await client.deactivate();
  });

  test("transport 'auto' remembers WebSocket across a reconnect (no SockJS attempt)", async () => {
    let wsAttempts = 0;
    const client = await connected({
      brokerURL: server.url,
      webSocketFactory: (url, protocols) => (wsAttempts++, new WebSocket(url, protocols)),
      sockjsURL: `${server.httpUrl}/no-sockjs-here`,
      transport: 'auto',
    });
    assert.equal(client.transportUsed, 'websocket');
    const connects = client.seen.connects;
    await dropAll(server);
    await waitFor(() => client.seen.connects === connects + 1 && client.connected, 10000, 'reconnected');
    assert.equal(client.transportUsed, 'websocket');
    assert.equal(wsAttempts, 2);
    await client.deactivate();
  });

  test("transport 'auto' falls back when the upgrade hangs without a first frame", async () => {
    const hole = await blackHole();
    try {
      const t0 = Date.now();
      const client = await connected({
        brokerURL: `ws://127.0.0.1:${hole.port}/ws`,
        sockjsURL: `${server.httpUrl}/sockjs`,
        sockjsOptions: { transports: ['xhr-polling'] },
        transport: 'auto',
        fallbackTimeout: 300,
        connectionTimeout: 8000,
      });
      assert.equal(client.transportUsed, 'sockjs');
      assert.ok(Date.now() - t0 < 7000);
      await roundTrip(client, '/topic/pkg.auto.silent', 5);
      await client.deactivate();
    } finally {
      hole.close();
    }
  });
});

// Aborts every connection (WebSocket and SockJS) from the server side; clients reconnect.
async function dropAll(server) {
  const r = await fetch(`${server.httpUrl}/admin/fault/drop`, { method: 'POST' });
  assert.equal(r.status, 200);
}
