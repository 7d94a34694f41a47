// Every SockJS session's state is freed: 1,000 sessions opened and abandoned (polling sessions the
// client stops polling, streaming responses the client cuts, sockjs-client sessions dropped without a
// goodbye) leave nothing behind in the SockJS registry, the broker or the connection count.
import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import SockJS from 'sockjs-client';

import { startServer, waitFor } from './support/server.mjs';
import { metric, openStream, randomId, request, stompOverSockJs, subscribeCollect } from './support/sockjs.mjs';

const CONNECT = 'CONNECT\naccept-version:1.2\nhost:/\n\n\u0000';

async function gauges(httpUrl) {
  return {
    sockjs: await metric(httpUrl, 'stompwire_sockjs_sessions'),
    addressable: await metric(httpUrl, 'stompwire_sockjs_sessions_addressable'),
    connections: await metric(httpUrl, 'stompwire_connections'),
    broker: await metric(httpUrl, 'stompwire_sessions'),
    subscriptions: await metric(httpUrl, 'stompwire_subscriptions'),
  };
}

const allZero = (g) => Object.values(g).every((v) => v === 0);

describe('SockJS session cleanup', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--sockjs-session-timeout', '1500', '--rate-limit-ip', '0', '--rate-limit-user', '0'] });
  });
  after(async () => {
    const { code } = await server.stop();
    assert.equal(code, 0);
  });

  test('1,000 sessions opened and abandoned leave no state behind', async () => {
    const base = `${server.httpUrl}/sockjs`;
    const start = await gauges(server.httpUrl);
    assert.ok(allZero(start), JSON.stringify(start));
    const N = 1000;
    const batch = 50;
    let streams = [];
    try {
      for (let i = 0; i < N; i += batch) {
        await Promise.all(Array.from({ length: batch }, async (_, k) => {
          const s = `${base}/${i + k}/${randomId()}${randomId()}`;
          if ((i + k) % 2 === 0) {
            // polling: open, CONNECT + SUBSCRIBE, then never poll again
            assert.equal((await request(`${s}/xhr`, { method: 'POST' })).body, 'o\n');
            const r = await request(`${s}/xhr_send`, {
              method: 'POST',
              body: JSON.stringify([CONNECT, `SUBSCRIBE\nid:0\ndestination:/topic/leak.${k}\n\n\u0000`]),
            });
            assert.equal(r.status, 204);
          } else {
            // streaming: open, CONNECT, then the client cuts the connection
            const st = openStream(`${s}/xhr_streaming`);
            await waitFor(() => st.text.endsWith('o\n'), 3000, 'o');
            await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]) });
            await waitFor(() => st.text.includes('CONNECTED'), 3000, 'CONNECTED');
            streams.push(st);
          }
        }));
        for (const st of streams) st.destroy();
        streams = [];
      }
    } finally {
      for (const st of streams) st.destroy();
    }
    const opened = (await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="xhr"')) +
      (await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="xhr_streaming"'));
    assert.equal(opened, N);
    await waitFor(async () => allZero(await gauges(server.httpUrl)), 10000, 'every session freed');
    assert.ok((await metric(server.httpUrl, 'stompwire_sockjs_timeouts_total')) >= N / 2);
    // The server still serves new sessions normally.
    const client = await stompOverSockJs(base, 'xhr-streaming');
    const { messages } = await subscribeCollect(client, '/topic/after');
    client.publish({ destination: '/topic/after', body: 'still fine' });
    await waitFor(() => messages.length === 1, 3000, 'message after the churn');
    await client.deactivate();
    await waitFor(async () => allZero(await gauges(server.httpUrl)), 5000, 'the last session freed');
  });

  test('sockjs-client sockets closed by the client are freed at once for every transport', async () => {
    const base = `${server.httpUrl}/sockjs`;
    for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
      const socks = [];
      for (let i = 0; i < 5; i++) {
        const sock = new SockJS(base, null, { transports: [transport] });
        await new Promise((resolve, reject) => { sock.onopen = resolve; sock.onclose = (e) => reject(new Error(`closed ${e.code}`)); });
        sock.send(CONNECT);
        socks.push(sock);
      }
      await waitFor(async () => (await metric(server.httpUrl, 'stompwire_sessions')) === 5, 3000, `5 broker sessions over ${transport}`);
      for (const s of socks) { s.onclose = null; s.close(); }
      await waitFor(async () => allZero(await gauges(server.httpUrl)), 5000, `${transport} sessions freed`);
    }
  });
});

describe('SockJS and JWT', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--jwt-secret', 'k3y'] });
  });
  after(async () => {
    await server.stop();
  });

  test('access_token on the SockJS URL authenticates every transport as that user', async () => {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'sj-user', aud: 'stompwire', exp: Math.floor(Date.now() / 1000) + 600 })}`;
    const token = `${input}.${createHmac('sha256', 'k3y').update(input).digest('base64url')}`;
    for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
      const client = await stompOverSockJs(`${server.httpUrl}/sockjs?access_token=${token}`, transport);
      const { messages } = await subscribeCollect(client, '/topic/public');
      client.publish({ destination: '/app/chat.send', body: JSON.stringify({ content: `hi over ${transport}` }) });
      await waitFor(() => messages.length === 1, 3000, 'chat message');
      const msg = JSON.parse(messages[0].body);
      assert.equal(msg.sender, 'sj-user');
      assert.equal(msg.content, `hi over ${transport}`);
      await client.deactivate();
    }
  });
});

describe('SockJS and graceful shutdown', () => {
  test('SIGTERM: every SockJS transport gets ERROR "server shutting down" and c[1001,...] before exit', async () => {
    const server = await startServer({ args: ['--shutdown-timeout', '5000'] });
    const clients = [];
    for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) clients.push(await stompOverSockJs(`${server.httpUrl}/sockjs`, transport));
    const { code } = await server.stop('SIGTERM');
    assert.equal(code, 0);
    for (const c of clients) {
      await waitFor(() => c.seen.closes.length > 0, 3000, 'close event');
      assert.equal(c.seen.stompErrors.length, 1, 'ERROR frame before the close');
      assert.match(c.seen.stompErrors[0].headers.message, /shutting down/);
      assert.equal(c.seen.closes[0].code, 1001);
      await c.deactivate();
    }
    assert.match(server.stderr, /"shutdown.done","how":"drained"/);
  });
});
