// STOMP through every SockJS transport that sockjs-client 1.6.1 can force in Node (websocket,
// xhr-streaming, xhr-polling, eventsource), with @stomp/stompjs 7.5.0 on top, against
// stompwire-server's /sockjs endpoint; and the same broker as /ws.
import { Client } from '@stomp/stompjs';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { startServer, waitFor } from './support/server.mjs';
import { TRANSPORTS, metric, stompOverSockJs, subscribeCollect } from './support/sockjs.mjs';

// Bodies that stress the JSON framing: quotes, backslashes, newlines, U+2028/2029 (escaped by
// SockJS), astral characters, and a body larger than the streaming response limit below.
const BODIES = [
  'plain',
  'quote " backslash \\ slash / tab \t newline \n end',
  'line\u2028separator\u2029paragraph \u200d zwj \ufeff bom',
  'emoji 😀 and 中文 and é',
  '{"json":true,"n":[1,2,3]}',
  'x'.repeat(20000),
];

describe('SockJS transports x @stomp/stompjs against stompwire-server', () => {
  let server;
  let sockjsUrl;
  const clients = [];
  before(async () => {
    // A small response limit so the streaming transports must reopen their response mid-test.
    server = await startServer({ args: ['--sockjs-response-limit', '8192', '--sockjs-heartbeat', '500'] });
    sockjsUrl = `${server.httpUrl}/sockjs`;
  });
  after(async () => {
    for (const c of clients) await c.deactivate().catch(() => {});
    const { code } = await server.stop();
    assert.equal(code, 0);
  });

  for (const transport of TRANSPORTS) {
    test(`${transport}: pub/sub round trip keeps order and content`, async () => {
      const client = await stompOverSockJs(sockjsUrl, transport);
      clients.push(client);
      assert.deepEqual(client.seen.transports, [transport]);
      const dest = `/topic/sockjs.${transport}`;
      const { messages } = await subscribeCollect(client, dest);
      const n = 60;
      for (let i = 0; i < n; i++) client.publish({ destination: dest, body: `${i}:${BODIES[i % BODIES.length]}`, headers: { seq: String(i) } });
      await waitFor(() => messages.length >= n, 10000, `${n} messages over ${transport}`);
      assert.equal(messages.length, n);
      messages.forEach((m, i) => {
        assert.equal(m.headers.seq, String(i));
        assert.equal(m.body, `${i}:${BODIES[i % BODIES.length]}`);
      });
      await client.deactivate();
      assert.equal(client.seen.stompErrors.length, 0);
    });

    test(`${transport}: receipts, /app/echo and /user/queue routing work`, async () => {
      const client = await stompOverSockJs(sockjsUrl, transport);
      clients.push(client);
      const { messages } = await subscribeCollect(client, '/user/queue/echo');
      const receipt = new Promise((resolve) => client.watchForReceipt('pub-1', resolve));
      client.publish({ destination: '/app/echo', body: `echo over ${transport}`, headers: { receipt: 'pub-1' } });
      await receipt;
      await waitFor(() => messages.length === 1, 5000, 'echo');
      assert.equal(messages[0].body, `echo over ${transport}`);
      await client.deactivate();
    });
  }

  test('every transport and /ws share one broker: a message from each reaches all', async () => {
    const sj = [];
    for (const t of TRANSPORTS) sj.push(await stompOverSockJs(sockjsUrl, t));
    clients.push(...sj);
    const ws = new Client({
      webSocketFactory: () => new WebSocket(server.url, ['v12.stomp']),
      reconnectDelay: 0,
      debug: () => {},
    });
    ws.activate();
    await waitFor(() => ws.connected, 5000, 'ws CONNECTED');
    const all = [...sj, ws];
    const inboxes = [];
    for (const c of all) inboxes.push((await subscribeCollect(c, '/topic/mixed')).messages);
    all.forEach((c, i) => c.publish({ destination: '/topic/mixed', body: `from-${i}` }));
    await waitFor(() => inboxes.every((m) => m.length === all.length), 8000, 'fan-out to every transport');
    for (const inbox of inboxes) assert.deepEqual(inbox.map((m) => m.body).sort(), all.map((_, i) => `from-${i}`).sort());
    for (const c of all) await c.deactivate();
  });

  test('/metrics counts SockJS sessions per transport', async () => {
    for (const t of TRANSPORTS) {
      const n = await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', `transport="${t.replace('-polling', '').replace('-', '_')}"`);
      assert.ok(n >= 3, `${t}: ${n} sessions counted`);
    }
    // The streaming transports reopened their response after 8 KiB (the 20 KB body alone forces it).
    assert.ok((await metric(server.httpUrl, 'stompwire_sockjs_receivers_total', 'transport="xhr_streaming"')) > 3);
    assert.ok((await metric(server.httpUrl, 'stompwire_sockjs_receivers_total', 'transport="eventsource"')) > 3);
  });
});

describe('SockJS over TLS (https:// and wss://)', () => {
  let server;
  let dir;
  before(async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const os = await import('node:os');
    const path = await import('node:path');
    dir = mkdtempSync(path.join(os.tmpdir(), 'sockjs-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    server = await startServer({ args: ['--tls-cert', `${dir}/cert.pem`, '--tls-key', `${dir}/key.pem`] });
    // sockjs-client cannot be handed a CA: trust the test certificate through the global agent
    // (xhr, eventsource) and the env switch (faye-websocket), for this suite only.
    const https = await import('node:https');
    https.globalAgent.options.ca = readFileSync(`${dir}/cert.pem`);
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  });
  after(async () => {
    delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    delete (await import('node:https')).globalAgent.options.ca;
    await server.stop();
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of TRANSPORTS) {
    test(`${transport} over TLS`, async () => {
      assert.match(server.httpUrl, /^https:/);
      const client = await stompOverSockJs(`${server.httpUrl}/sockjs`, transport);
      const { messages } = await subscribeCollect(client, '/topic/tls');
      client.publish({ destination: '/topic/tls', body: `secure ${transport}` });
      await waitFor(() => messages.length === 1, 5000, 'message over TLS');
      assert.equal(messages[0].body, `secure ${transport}`);
      await client.deactivate();
    });
  }
});
