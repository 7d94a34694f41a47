// The npm package in a real browser: headless Chromium (playwright-core, /usr/bin/chromium) loads a page
// that imports bindings/js/stompwire.mjs with a plain <script type="module"> served over HTTP from
// 127.0.0.1, fetches stompwire.wasm next to it, and talks to the broker with the browser's WebSocket,
// with the timers in a Worker (heartbeatStrategy: 'worker'). Skipped when Chromium is not installed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { repoRoot } from './support/paths.mjs';
import { MockBroker, until } from './support/mock-broker.mjs';

const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath}`;
const pkgDir = join(repoRoot, 'bindings', 'js');
const types = { '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const page = (brokerURL) => `<!doctype html><meta charset="utf-8"><title>stompwire</title>
<script>
  // Counts the Workers the package starts (heartbeatStrategy: 'worker').
  window.workers = 0;
  const BrowserWorker = window.Worker;
  window.Worker = class extends BrowserWorker {
    constructor(...args) {
      super(...args);
      window.workers++;
    }
  };
</script>
<script type="module">
  import { Client } from '/pkg/stompwire.mjs';
  const log = (x) => (window.results ??= []).push(x);
  try {
    const client = new Client({ brokerURL: '${brokerURL}', heartbeatOutgoing: 50, heartbeatIncoming: 0, heartbeatStrategy: 'worker' });
    client.onConnect(() => log('connected'));
    client.subscribe('/topic/browser', (m) => log(m.isBinaryBody ? 'binary:' + Array.from(m.binaryBody).join(',') : 'text:' + m.body));
    client.activate();
    await client.publish({ destination: '/topic/browser', body: 'hé\\u0000llo', receipt: true });
    await client.publish({ destination: '/topic/browser', binaryBody: new Uint8Array([0, 255, 7]), receipt: true });
    window.client = client;
    log('published');
  } catch (e) {
    log('error:' + e.code + ':' + e.message);
  }
</script>`;

test('loads with <script type="module"> in Chromium, connects with the browser WebSocket, worker timers', { skip, timeout: 60000 }, async () => {
  const broker = await new MockBroker({ heartbeat: [0, 50] }).start();
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(page(broker.url));
    }
    const rel = normalize(url.pathname.replace(/^\/pkg\//, ''));
    const path = join(pkgDir, rel);
    if (!url.pathname.startsWith('/pkg/') || rel.startsWith('..') || !existsSync(path)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': types[rel.slice(rel.lastIndexOf('.'))] ?? 'application/octet-stream' });
    res.end(readFileSync(path));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  after(async () => {
    await browser.close();
    server.close();
    await broker.stop();
  });
  const tab = await browser.newPage();
  const consoleErrors = [];
  tab.on('pageerror', (e) => consoleErrors.push(String(e)));
  await tab.goto(`http://127.0.0.1:${server.address().port}/`);
  await tab.waitForFunction(() => window.results?.includes('published') || window.results?.some((r) => r.startsWith('error')), null, { timeout: 20000 });
  await tab.waitForFunction(() => window.results.filter((r) => r.startsWith('text:') || r.startsWith('binary:')).length === 2, null, { timeout: 10000 });
  const results = await tab.evaluate(() => window.results);
  assert.deepEqual(results.filter((r) => !r.startsWith('published')), ['connected', 'text:hé\u0000llo', 'binary:0,255,7']);
  assert.equal(broker.framesOf('SEND')[1].binary, true, 'binaryBody went as a binary WebSocket message');
  // Outgoing heart-beats come from the Worker's timers.
  assert.equal(await tab.evaluate(() => window.workers), 1, 'one timer Worker');
  const session = [...broker.sessions][0];
  await until(() => session.state.heartbeats >= 2, 'heart-beats from the browser', 10000);
  assert.equal(await tab.evaluate(() => window.client.state), 'connected');
  await tab.evaluate(() => window.client.deactivate());
  await until(() => broker.framesOf('DISCONNECT').length === 1, 'DISCONNECT from the browser');
  assert.deepEqual(consoleErrors, []);
});
