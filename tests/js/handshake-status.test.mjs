// A WebSocket upgrade the server refuses with 401 or 403 is reported with the native transport's codes
// ('unauthorized', 'forbidden'); other statuses are a plain transport_error. Node's `ws` puts the status
// in its error message, which is where the package reads it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import WebSocket from 'ws';
import { Client, init } from '../../bindings/js/stompwire.mjs';
import { until } from './support/mock-broker.mjs';

await init();
const servers = [];
after(() => {
  for (const s of servers) s.close();
});

// Answers every upgrade with `status` and closes.
function refusing(status) {
  const server = http.createServer((_, res) => res.end());
  server.on('upgrade', (_, socket) => {
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`ws://127.0.0.1:${server.address().port}/ws`)));
}

for (const [status, code] of [[401, 'unauthorized'], [403, 'forbidden'], [400, 'transport_error'], [404, 'transport_error']]) {
  test(`an upgrade refused with ${status} is a WebSocketError with code ${code}`, async () => {
    const url = await refusing(status);
    const errors = [];
    const c = new Client({
      brokerURL: url,
      // ws itself (no global WebSocket in Node 20): its error message carries the status.
      webSocketFactory: (u, p) => new WebSocket(u, p),
      reconnect: { enabled: false },
      onWebSocketError: (e) => errors.push(e),
    });
    c.activate();
    await until(() => errors.length, 'WebSocketError');
    assert.equal(errors[0].code, code);
    assert.ok(errors[0] instanceof Error);
    assert.match(String(errors[0].event?.message ?? errors[0].event?.error?.message), new RegExp(`Unexpected server response: ${status}`));
    c.dispose();
  });
}
