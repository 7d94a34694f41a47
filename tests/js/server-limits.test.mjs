// Limits seen by a plain `ws` client (what a browser would see), complementing the C++ integration tests.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';

import { startServer } from './support/server.mjs';

let server;
before(async () => {
  server = await startServer({ args: ['--max-frame-size', '1024', '--allow-origin', 'https://*.example.com'] });
});
after(async () => server?.stop());

function open(url, options = {}) {
  return new WebSocket(url, ['v12.stomp'], { perMessageDeflate: false, ...options });
}
const closed = (ws) => new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
const refused = (ws) => new Promise((resolve) => ws.on('unexpected-response', (req, res) => resolve(res.statusCode)));

test('a STOMP frame above --max-frame-size: ERROR "frame too large", then close 1009', async () => {
  const ws = open(server.url);
  const frames = [];
  ws.on('message', (d) => frames.push(String(d)));
  await new Promise((r) => ws.on('open', r));
  ws.send('CONNECT\naccept-version:1.2\n\n\0');
  ws.send(`SEND\ndestination:/topic/x\n\n${'x'.repeat(2000)}\0`);
  const { code } = await closed(ws);
  assert.equal(code, 1009);
  assert.ok(frames.some((f) => f.startsWith('ERROR\n') && f.includes('message:frame too large')), frames.join('|'));
});

test('a WebSocket message far above the limit: close 1009 from the WebSocket layer', async () => {
  const ws = open(server.url);
  await new Promise((r) => ws.on('open', r));
  ws.send('CONNECT\naccept-version:1.2\n\n\0');
  ws.send(`SEND\ndestination:/topic/x\n\n${'x'.repeat(100000)}\0`);
  assert.equal((await closed(ws)).code, 1009);
});

test('Origin outside the allow-list: 403 before the upgrade', async () => {
  assert.equal(await refused(open(server.url, { origin: 'https://evil.example.org' })), 403);
  const ok = open(server.url, { origin: 'https://chat.example.com' });
  await new Promise((resolve, reject) => { ok.on('open', resolve); ok.on('error', reject); });
  ok.close();
});
