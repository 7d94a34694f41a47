// Shared by the browser tests: headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM) driven by
// playwright-core, the chat page of examples/chat-web served by a real stompwire-server process, the
// native chat CLI, and screenshots under build/browser-artifacts/.
//
// The server process helpers are tests/js/support/server.mjs's (startServer, waitFor, httpGet).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before } from 'node:test';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { nativeBuildDir, repoRoot } from '../../js/support/paths.mjs';
import { httpGet, startServer, waitFor } from '../../js/support/server.mjs';

export { httpGet, startServer, waitFor, repoRoot };

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
// The only reason to skip: no browser on this machine. Everything else missing is a failure.
export const skip = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath}: install it (scripts/bootstrap: apt-get install chromium) or set CHROMIUM`;

export const chatDir = join(repoRoot, 'examples', 'chat-web');
export const artifactsDir = join(repoRoot, 'build', 'browser-artifacts');
export const cliBinary = join(nativeBuildDir, 'bin', 'stompwire-cli');
export const viewport = { width: 800, height: 500 };

// The page loads the package through examples/chat-web/vendor/stompwire (a link to bindings/js): the
// wasm build must have put stompwire.wasm there.
export function checkPackage() {
  const wasm = join(chatDir, 'vendor', 'stompwire', 'stompwire.wasm');
  assert.ok(existsSync(wasm), `${wasm} is missing: build the wasm preset (cmake --preset wasm && cmake --build --preset wasm)`);
}

export async function launch(args = []) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', ...args] });
}

// The reference server serving the chat page from examples/chat-web: one process, page and broker.
// The before/after hooks of a describe block: a chat server and a browser, both closed at the end.
// `suite.server` may be replaced by a test (a restart); the new one is the one stopped.
export function chatSuite() {
  const suite = {};
  before(async () => {
    suite.server = await startChatServer();
    suite.browser = await launch();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  return suite;
}

export function startChatServer(args = []) {
  checkPackage();
  return startServer({ args: ['--static', chatDir, ...args] });
}

// Opens the chat in its own browser context (own storage, own network emulation) and joins through the
// query string. Resolves once the badge says connected. Page errors are collected in page.errors.
// initScript runs in the page before any of its scripts.
export async function openChat(browser, baseUrl, { user, room, heartbeat, contextOptions = {}, initScript }) {
  const context = await browser.newContext({ viewport, ...contextOptions });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  const q = new URLSearchParams({ room, user });
  if (heartbeat !== undefined) q.set('heartbeat', String(heartbeat));
  await page.goto(`${baseUrl}/?${q}`);
  await waitBadge(page, 'connected');
  return page;
}

export function waitBadge(page, state, timeout = 15000) {
  return page.waitForSelector(`#badge[data-state="${state}"]`, { timeout });
}

export async function badge(page) {
  return page.$eval('#badge', (b) => ({ state: b.dataset.state, text: b.textContent }));
}

export async function send(page, text) {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

// Messages the server delivered to this page (outbox lines excluded), in display order.
export function messages(page) {
  return page.$$eval('#messages .message:not(.pending)', (els) =>
    els.map((e) => ({ sender: e.dataset.sender, content: e.querySelector('.content').textContent, time: e.querySelector('time')?.dateTime })));
}

export function waitForMessage(page, sender, content, timeout = 10000) {
  return page.waitForFunction(
    ([s, c]) => [...document.querySelectorAll('#messages .message:not(.pending)')].some((e) => e.dataset.sender === s && e.querySelector('.content').textContent === c),
    [sender, content],
    { timeout },
  );
}

// Sends `text` and waits until the server delivered it back: from then on this page's subscription is
// live on the server (SUBSCRIBE went before the SEND on the same connection).
export async function sendAndSeeEcho(page, user, text) {
  await send(page, text);
  await waitForMessage(page, user, text);
}

export async function screenshot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

// The native chat: `stompwire-cli chat ROOM` with stdin/stdout pipes. lines(): stdout so far;
// waitLine(re): resolves with the first stdout line matching, rejects at the deadline or exit.
export function startCli(url, room, login, extra = []) {
  assert.ok(existsSync(cliBinary), `${cliBinary} is missing: build the native preset`);
  const child = spawn(cliBinary, ['--url', url, '--login', login, ...extra, 'chat', room], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let exitInfo;
  exited.then((e) => (exitInfo = e));
  const waitText = async (get, re, what, timeoutMs) => {
    await waitFor(() => {
      if (exitInfo) throw new Error(`stompwire-cli exited (${JSON.stringify(exitInfo)}) while waiting for ${what}\nstderr: ${err}`);
      return get().split('\n').some((l) => re.test(l));
    }, timeoutMs, `${what} (stdout: ${JSON.stringify(out)}, stderr: ${JSON.stringify(err)})`);
  };
  return {
    process: child,
    get stdout() { return out; },
    get stderr() { return err; },
    lines: () => out.split('\n').filter(Boolean),
    say: (text) => child.stdin.write(`${text}\n`),
    waitLine: (re, timeoutMs = 10000) => waitText(() => out, re, `stdout line ${re}`, timeoutMs),
    waitStderr: (re, timeoutMs = 10000) => waitText(() => err, re, `stderr line ${re}`, timeoutMs),
    async stop() {
      if (exitInfo) return exitInfo;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

// One Prometheus sample of the server's /metrics (0 when absent).
export async function metric(httpUrl, name) {
  const { body } = await httpGet(`${httpUrl}/metrics`);
  let sum = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}
