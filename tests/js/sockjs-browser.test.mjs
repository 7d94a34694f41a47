// The npm package in headless Chromium with WebSocket blocked by a page-level stub: transport 'auto'
// falls back to SockJS (sockjs-client from a <script> tag, cross-origin XHR streaming with CORS) against
// stompwire-server; and transport 'sockjs' with the browser-only transports forced: jsonp-polling and
// iframe-htmlfile.
// Skipped when Chromium is not installed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { repoRoot } from './support/paths.mjs';
import { startServer } from './support/server.mjs';
import { metric } from './support/sockjs.mjs';

const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath}`;
const pkgDir = join(repoRoot, 'bindings', 'js');
const sockjsDist = join(repoRoot, 'node_modules', 'sockjs-client', 'dist', 'sockjs.min.js');
const types = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };

const page = (brokerURL, options) => `<!doctype html><meta charset="utf-8"><title>stompwire sockjs</title>
<script>
  // The network of this page blocks WebSocket: every attempt fails like a proxy refusing the upgrade.
  window.wsAttempts = 0;
  window.WebSocket = class BlockedWebSocket {
    constructor(url) {
      window.wsAttempts++;
      this.url = url;
      this.readyState = 0;
      setTimeout(() => {
        this.readyState = 3;
        this.onerror?.({ type: 'error' });
        this.onclose?.({ type: 'close', code: 1006, reason: '', wasClean: false });
      }, 10);
    }
    send() { throw new Error('not open'); }
    close() {}
  };
</script>
<script src="/sockjs-client/sockjs.min.js"></script>
<script type="module">
  import { Client } from '/pkg/stompwire.mjs';
  const log = (x) => (window.results ??= []).push(x);
  try {
    const client = new Client({ brokerURL: '${brokerURL}', heartbeatIncoming: 0, heartbeatOutgoing: 0, ...${JSON.stringify(options)} });
    client.onConnect(() => log('connected'));
    client.subscribe('/topic/browser', (m) => log('text:' + m.body));
    client.subscribe('/topic/public', (m) => log('chat:' + JSON.parse(m.body).content));
    client.activate();
    await client.publish({ destination: '/topic/browser', body: 'hé \\u2028 "quoted"', receipt: true });
    await client.publish({ destination: '/app/chat.send', body: JSON.stringify({ content: 'hi from the browser' }), receipt: true });
    window.client = client;
    log('published');
  } catch (e) {
    log('error:' + e.code + ':' + e.message);
  }
</script>`;

describe('SockJS fallback in headless Chromium', { skip }, () => {
  let pages;
  let server;
  let browser;
  let options = {};
  before(async () => {
    pages = createServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(page(server.url, options));
      }
      if (url.pathname === '/sockjs-client/sockjs.min.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        return res.end(readFileSync(sockjsDist));
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
    await new Promise((r) => pages.listen(0, '127.0.0.1', r));
    // The page is another origin than the broker: allow it, as a deployment would.
    const pagesOrigin = `http://127.0.0.1:${pages.address().port}`;
    // The iframe transports load sockjs-client inside /sockjs/iframe.html: from the page server here.
    server = await startServer({ args: ['--allow-origin', pagesOrigin, '--sockjs-client-url', `${pagesOrigin}/sockjs-client/sockjs.min.js`] });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    pages?.close();
    const exit = await server?.stop();
    if (process.env.SOCKJS_DEBUG_STDERR) (await import('node:fs')).writeFileSync(process.env.SOCKJS_DEBUG_STDERR, server?.stderr ?? '');
    assert.deepEqual(exit, { code: 0, signal: null }, server?.stderr.slice(-3000));
  });

  async function run(opts) {
    options = opts;
    const tab = await browser.newPage();
    const pageErrors = [];
    tab.on('pageerror', (e) => pageErrors.push(String(e)));
    await tab.goto(`http://127.0.0.1:${pages.address().port}/`);
    await tab.waitForFunction(() => window.results?.includes('published') || window.results?.some((r) => r.startsWith('error')), null, { timeout: 20000 });
    await tab.waitForFunction(() => window.results.some((r) => r.startsWith('text:')) && window.results.some((r) => r.startsWith('chat:')), null, { timeout: 10000 });
    const results = await tab.evaluate(() => window.results);
    assert.equal(results[0], 'connected');
    assert.deepEqual(results.filter((r) => r.startsWith('text:') || r.startsWith('chat:')), ['text:hé \u2028 "quoted"', 'chat:hi from the browser']);
    const state = await tab.evaluate(() => ({ used: window.client.transportUsed, ws: window.wsAttempts, state: window.client.state }));
    await tab.evaluate(() => window.client.deactivate());
    await tab.close();
    assert.deepEqual(pageErrors, []);
    return state;
  }

  test("transport 'auto' with WebSocket blocked runs over SockJS (xhr-streaming, CORS)", async () => {
    const before = await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="xhr_streaming"');
    const state = await run({ transport: 'auto' });
    assert.equal(state.used, 'sockjs');
    assert.equal(state.state, 'connected');
    // One blocked attempt by our client, one by sockjs-client's own websocket transport.
    assert.ok(state.ws >= 1);
    assert.equal(await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="xhr_streaming"'), before + 1);
  });

  test("transport 'sockjs' over jsonp-polling (script tags)", async () => {
    const before = await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="jsonp"');
    const state = await run({ transport: 'sockjs', sockjsOptions: { transports: ['jsonp-polling'] } });
    assert.equal(state.used, 'sockjs');
    assert.equal(state.ws, 0);
    assert.equal(await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="jsonp"'), before + 1);
  });

  test("transport 'sockjs' over iframe-htmlfile (the iframe page and htmlfile from the server)", async () => {
    const before = await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="htmlfile"');
    const state = await run({ transport: 'sockjs', sockjsOptions: { transports: ['iframe-htmlfile'] } });
    assert.equal(state.used, 'sockjs');
    assert.equal(await metric(server.httpUrl, 'stompwire_sockjs_sessions_total', 'transport="htmlfile"'), before + 1);
  });
});
