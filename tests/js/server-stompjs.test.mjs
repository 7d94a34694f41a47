// Interop: the third-party @stomp/stompjs 7.5 client (with `ws` as its WebSocket) against stompwire-server.
import { Client } from '@stomp/stompjs';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { startServer, waitFor, httpGet } from './support/server.mjs';

const PROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

// A stompjs client that records everything it sees. Resolves once connected (unless connect: false).
async function makeClient(url, { login = 'anon', passcode = '', reconnectDelay = 0, connect = true, heartbeat = 0, onConnect } = {}) {
  const seen = { connects: 0, stompErrors: [], closes: [], connectedHeaders: null };
  const client = new Client({
    webSocketFactory: () => new WebSocket(url, PROTOCOLS, { perMessageDeflate: false }),
    connectHeaders: { login, passcode },
    reconnectDelay,
    heartbeatIncoming: heartbeat,
    heartbeatOutgoing: heartbeat,
    debug: () => {},
    onConnect: (frame) => {
      seen.connects++;
      seen.connectedHeaders = frame.headers;
      onConnect?.(client);
    },
    onStompError: (frame) => seen.stompErrors.push(frame),
    onWebSocketClose: (evt) => seen.closes.push({ code: evt.code, reason: evt.reason }),
  });
  client.seen = seen;
  client.activate();
  if (connect) await waitFor(() => client.connected, 5000, 'stompjs CONNECTED');
  return client;
}

let receiptSeq = 0;
// Subscribes with a receipt; resolves (once the server has the subscription) to a promise of the
// first message.
async function nextMessage(client, destination, headers = {}) {
  const id = `sub-receipt-${++receiptSeq}`;
  const subscribed = receipt(client, id);
  const message = new Promise((resolve) => {
    const sub = client.subscribe(destination, (m) => {
      sub.unsubscribe();
      resolve(m);
    }, { ...headers, receipt: id });
  });
  await subscribed;
  return { message };
}

function receipt(client, id) {
  return new Promise((resolve) => client.watchForReceipt(id, resolve));
}

describe('@stomp/stompjs 7.5.0 against stompwire-server', () => {
  let server;
  const clients = [];
  before(async () => {
    server = await startServer({ args: ['--fault-injection'] });
  });
  after(async () => {
    for (const c of clients) await c.deactivate().catch(() => {});
    await server?.stop();
  });
  const client = async (opts) => {
    const c = await makeClient(server.url, opts);
    clients.push(c);
    return c;
  };

  test('connects with STOMP 1.2 over the v12.stomp subprotocol', async () => {
    const c = await client({ login: 'ann' });
    assert.equal(c.connectedVersion, '1.2');
    assert.equal(c.seen.connectedHeaders['user-name'], 'ann');
    assert.match(c.seen.connectedHeaders.server, /^stompwire-server\//);
    assert.equal(c.webSocket.protocol, 'v12.stomp');
  });

  test('subscribes and publishes with receipts; headers and body arrive intact', async () => {
    const sub = await client();
    const pub = await client();
    const received = [];
    const subReceipt = receipt(sub, 'sub-1');
    sub.subscribe('/topic/interop', (m) => received.push(m), { receipt: 'sub-1' });
    await subReceipt;
    for (let i = 0; i < 20; i++) {
      const r = receipt(pub, `pub-${i}`);
      pub.publish({ destination: '/topic/interop', body: `hello ${i} ✓`, headers: { receipt: `pub-${i}`, 'x-seq': String(i) } });
      await r;
    }
    await waitFor(() => received.length === 20, 5000, '20 messages');
    assert.deepEqual(received.map((m) => m.body), Array.from({ length: 20 }, (_, i) => `hello ${i} ✓`));
    assert.equal(received[7].headers['x-seq'], '7');
    assert.equal(received[0].headers.destination, '/topic/interop');
  });

  test('binary bodies round-trip', async () => {
    const c = await client();
    const got = (await nextMessage(c, '/topic/bin')).message;
    const bytes = new Uint8Array([0, 1, 2, 255, 0, 128]);
    c.publish({ destination: '/topic/bin', binaryBody: bytes, headers: { 'content-type': 'application/octet-stream' } });
    const m = await got;
    assert.deepEqual([...m.binaryBody], [...bytes]);
  });

  test('queue with client-individual ack: ack removes, nack redelivers with redelivered:true', async () => {
    const a = await client();
    const b = await client();
    const gotA = [];
    const gotB = [];
    const ra = receipt(a, 'qa');
    a.subscribe('/queue/jobs', (m) => gotA.push(m), { ack: 'client-individual', receipt: 'qa' });
    await ra;
    const r1 = receipt(b, 'p1');
    b.publish({ destination: '/queue/jobs', body: 'job-1', headers: { receipt: 'p1' } });
    await r1;
    await waitFor(() => gotA.length === 1, 5000, 'job-1 at a');
    const rb = receipt(b, 'qb');
    b.subscribe('/queue/jobs', (m) => gotB.push(m), { ack: 'client-individual', receipt: 'qb' });
    await rb;
    // a refuses it: the broker hands it to b, marked redelivered.
    gotA[0].nack();
    await waitFor(() => gotA.length + gotB.length === 2, 5000, 'redelivery');
    const again = gotB[0] ?? gotA[1];
    assert.equal(again.body, 'job-1');
    assert.equal(again.headers.redelivered, 'true');
    again.ack();
    const metrics = async () => (await httpGet(`${server.httpUrl}/metrics`)).body;
    await waitFor(async () => /stompwire_pending_acks 0/.test(await metrics()), 5000, 'no pending acks');
  });

  test('/app/chat.send is stamped with the authenticated sender', async () => {
    const c = await client({ login: 'zoe' });
    const got = (await nextMessage(c, '/topic/room.lobby')).message;
    c.publish({ destination: '/app/chat.send', body: JSON.stringify({ content: 'hi', room: 'lobby', sender: 'mallory' }) });
    const m = await got;
    const body = JSON.parse(m.body);
    assert.equal(body.sender, 'zoe');
    assert.equal(body.content, 'hi');
    assert.ok(Math.abs(body.timestamp - Date.now()) < 60000);
  });

  test('a protocol error reaches onStompError with the message header', async () => {
    const c = await client();
    c.publish({ destination: '/nowhere', body: 'x' });
    await waitFor(() => c.seen.stompErrors.length === 1, 5000, 'ERROR frame');
    assert.equal(c.seen.stompErrors[0].headers.message, 'invalid destination');
  });

  test('reconnects after the server drops every connection, and resubscribes in onConnect', async () => {
    const got = [];
    const c = await client({
      reconnectDelay: 100,
      onConnect: (cl) => cl.subscribe('/topic/after-drop', (m) => got.push(m.body)),
    });
    const dropped = await httpGet(`${server.httpUrl}/admin/fault/drop`, { method: 'POST' });
    assert.equal(dropped.status, 200);
    await waitFor(() => c.seen.connects === 2 && c.connected, 5000, 'reconnect');
    const r = receipt(c, 'after');
    c.publish({ destination: '/topic/after-drop', body: 'back', headers: { receipt: 'after' } });
    await r;
    await waitFor(() => got.includes('back'), 5000, 'message after reconnect');
  });
});

describe('@stomp/stompjs: server restart and graceful shutdown', () => {
  test('reconnects to a restarted server on the same port', async () => {
    let server = await startServer();
    const port = server.port;
    const got = [];
    const c = await makeClient(server.url, {
      reconnectDelay: 100,
      onConnect: (cl) => cl.subscribe('/topic/restart', (m) => got.push(m.body)),
    });
    try {
      const { code } = await server.stop('SIGTERM');
      assert.equal(code, 0);
      // Graceful shutdown told the client: ERROR "server shutting down", then close 1001.
      await waitFor(() => c.seen.closes.length >= 1, 5000, 'close');
      assert.equal(c.seen.stompErrors[0]?.headers.message, 'server shutting down');
      assert.equal(c.seen.closes[0].code, 1001);
      server = await startServer({ args: ['--listen', `127.0.0.1:${port}`] });
      await waitFor(() => c.seen.connects === 2 && c.connected, 10000, 'reconnect to restarted server');
      const r = receipt(c, 'r');
      c.publish({ destination: '/topic/restart', body: 'again', headers: { receipt: 'r' } });
      await r;
      await waitFor(() => got.includes('again'), 5000, 'message after restart');
    } finally {
      await c.deactivate();
      await server.stop();
    }
  });

  test('JWT in the access_token query parameter; a bad token is refused at the handshake', async () => {
    const { createHmac } = await import('node:crypto');
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const sign = (claims, secret) => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const server = await startServer({ args: ['--jwt-secret', 'k3y'] });
    try {
      const exp = Math.floor(Date.now() / 1000) + 300;
      const good = sign({ sub: 'tok-user', aud: 'stompwire', exp }, 'k3y');
      const c = await makeClient(`${server.url}?access_token=${good}`);
      assert.equal(c.seen.connectedHeaders['user-name'], 'tok-user');
      await c.deactivate();
      const bad = await makeClient(`${server.url}?access_token=${sign({ sub: 'x', aud: 'stompwire', exp }, 'wrong')}`, { connect: false });
      await waitFor(() => bad.seen.closes.length >= 1, 5000, 'refused handshake');
      assert.equal(bad.connected, false);
      await bad.deactivate();
    } finally {
      await server.stop();
    }
  });
});
