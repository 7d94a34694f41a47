// Heart-beats keep the chat connected in a hidden page, against a server that enforces them (it drops a
// client silent for 2 x the negotiated interval).
//
// How the hidden page is emulated, and why this way: headless Chromium never hides a page (minimizing
// its window or opening other tabs leaves document.visibilityState 'visible', checked), so the test
// does what a hidden tab does to a page, by hand:
// - document.visibilityState / document.hidden report 'hidden' and a visibilitychange event fires, so
//   the app and the package see what they would see in a background tab;
// - the page's main-thread timers are throttled as Chrome throttles a hidden tab's timers: at once to
//   1 s, after 5 minutes hidden to one wake-up a minute ("intensive wake up throttling"). The test
//   uses the 1-minute floor from the start, since it cannot wait 5 minutes. Dedicated workers are not
//   throttled that way, which is why the chat asks for heartbeatStrategy: 'worker'.
// Page.setWebLifecycleState('frozen') is not used: a frozen page runs no tasks at all (workers
// included), which is what a discarded tab does, not a hidden one.
// The second test is the control: the same hidden page without a Worker (the package then keeps its
// timers on the main thread) stops sending heart-beats, and the server drops it. So the first test
// would fail if heart-beats stopped in a hidden page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { badge, launch, metric, openChat, screenshot, sendAndSeeEcho, skip, startChatServer, waitBadge, waitFor } from './support/chat.mjs';

const INTERVAL = 1000; // heart-beat both ways (page and server); the server drops after 2 x this of silence
const SERVER_WINDOW = 2 * INTERVAL;

function hide(page) {
  return page.evaluate(() => {
    const MINUTE = 60000;
    const realSetTimeout = window.setTimeout.bind(window);
    const realSetInterval = window.setInterval.bind(window);
    window.setTimeout = (fn, ms = 0, ...args) => realSetTimeout(fn, Math.max(Number(ms) || 0, MINUTE), ...args);
    window.setInterval = (fn, ms = 0, ...args) => realSetInterval(fn, Math.max(Number(ms) || 0, MINUTE), ...args);
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    const { client } = window.stompwireChat;
    window.hiddenTest = { at: performance.now(), changes: [], metrics: client.metrics() };
    client.onStateChange(({ state }) => window.hiddenTest.changes.push(state));
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

const probe = (page) => page.evaluate(() => ({
  visibility: document.visibilityState,
  hiddenFor: performance.now() - window.hiddenTest.at,
  before: window.hiddenTest.metrics,
  now: window.stompwireChat.client.metrics(),
  changes: window.hiddenTest.changes,
}));

describe('heart-beats in a hidden page', { skip, timeout: 120000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startChatServer(['--heartbeat-send', String(INTERVAL), '--heartbeat-receive', String(INTERVAL)]);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test(`a hidden page stays connected for more than 2 x the server's ${SERVER_WINDOW} ms heart-beat window`, async () => {
    const page = await openChat(browser, server.httpUrl, { user: 'ada', room: 'background', heartbeat: INTERVAL });
    await sendAndSeeEcho(page, 'ada', 'switching to another tab');
    const connections = await metric(server.httpUrl, 'stompwire_connections_total');
    await hide(page);

    // Both conditions are needed: time (the server would have dropped a silent page twice over) and
    // heart-beats actually sent while hidden.
    let p;
    await waitFor(async () => {
      p = await probe(page);
      return p.hiddenFor >= 2 * SERVER_WINDOW && p.now.heartbeatsOut - p.before.heartbeatsOut >= 4;
    }, 20000, 'heart-beats from the hidden page');
    assert.equal(p.visibility, 'hidden');
    assert.deepEqual(p.changes, [], 'no state change while hidden');
    assert.equal(p.now.state, 'connected');
    assert.equal(p.now.connects, p.before.connects, 'the same connection throughout');
    assert.ok(p.now.heartbeatsIn > p.before.heartbeatsIn, 'the server\'s heart-beats arrive too');
    assert.equal(await metric(server.httpUrl, 'stompwire_heartbeat_timeouts_total'), 0, 'the server dropped nobody');
    assert.equal(await metric(server.httpUrl, 'stompwire_connections_total'), connections, 'no new connection');
    assert.deepEqual(await badge(page), { state: 'connected', text: 'connected' });
    // Still chatting on that connection.
    await sendAndSeeEcho(page, 'ada', 'back, still connected');
    await screenshot(page, 'chat-hidden-heartbeat');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('control: the same hidden page with its timers on the main thread (no Worker) is dropped by the server', async () => {
    const before = await metric(server.httpUrl, 'stompwire_heartbeat_timeouts_total');
    // Before any page script: no Worker, so the package falls back to main-thread timers.
    const page = await openChat(browser, server.httpUrl, {
      user: 'bob', room: 'background', heartbeat: INTERVAL,
      initScript: () => Object.defineProperty(window, 'Worker', { value: undefined }),
    });
    assert.equal(await page.evaluate(() => typeof window.Worker), 'undefined');
    await hide(page);
    await waitFor(async () => (await metric(server.httpUrl, 'stompwire_heartbeat_timeouts_total')) > before, 20000,
      'the server dropping the silent page');
    await waitBadge(page, 'reconnecting');
    const p = await probe(page);
    assert.ok(p.hiddenFor >= SERVER_WINDOW, `dropped after ${p.hiddenFor} ms hidden`);
    assert.equal(p.changes[0], 'reconnecting');
    await screenshot(page, 'chat-hidden-no-worker-dropped');
    await page.context().close();
  });
});
