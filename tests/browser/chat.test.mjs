// The chat example (examples/chat-web) in headless Chromium against a real stompwire-server that serves
// both the page and the broker: two pages chat; a page and the native CLI chat in the same room.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  chatSuite, messages, openChat, screenshot, send, sendAndSeeEcho, skip, startCli, waitForMessage, viewport,
} from './support/chat.mjs';

describe('chat page', { skip, timeout: 120000 }, () => {
  const suite = chatSuite(); // suite.server, suite.browser

  test('the join form joins the room given by name and room fields', async () => {
    const context = await suite.browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${suite.server.httpUrl}/`);
    await page.fill('#join-user', 'grace');
    await page.fill('#join-room', 'form-room');
    await screenshot(page, 'join');
    await page.click('#join-form button[type=submit]');
    await page.waitForSelector('#badge[data-state="connected"]', { timeout: 15000 });
    assert.equal(await page.textContent('#room-name'), 'form-room');
    assert.equal(new URL(page.url()).search, '?room=form-room&user=grace', 'the URL keeps the room for a reload');
    // A bad room name is refused before any connection attempt: by the form's pattern, and by the app
    // for a room from the query string.
    const page2 = await context.newPage();
    await page2.goto(`${suite.server.httpUrl}/`);
    await page2.fill('#join-room', 'no spaces');
    assert.equal(await page2.$eval('#join-room', (i) => i.validity.patternMismatch), true);
    await page2.goto(`${suite.server.httpUrl}/?room=no%20spaces&user=grace`);
    await page2.waitForSelector('#join-error:not([hidden])');
    assert.match(await page2.textContent('#join-error'), /Room names/);
    assert.equal(await page2.isHidden('#chat-view'), true);
    await context.close();
  });

  test('without the package\'s .wasm the page says what is missing instead of joining', async () => {
    const context = await suite.browser.newContext({ viewport });
    const page = await context.newPage();
    await page.route('**/stompwire.wasm', (route) => route.fulfill({ status: 404, body: 'not found' }));
    await page.goto(`${suite.server.httpUrl}/?room=lobby&user=ada`);
    await page.waitForSelector('#join-error:not([hidden])');
    assert.match(await page.textContent('#join-error'), /^Could not load the stompwire package \(.+\)\. Build the wasm preset/);
    assert.equal(await page.isHidden('#chat-view'), true);
    await screenshot(page, 'package-missing');
    await context.close();
  });

  test('two pages chat: each sees the other\'s messages with sender and time', async () => {
    const ada = await openChat(suite.browser, suite.server.httpUrl, { user: 'ada', room: 'lobby' });
    await sendAndSeeEcho(ada, 'ada', 'Hi! Anyone here?');
    const bob = await openChat(suite.browser, suite.server.httpUrl, { user: 'bob', room: 'lobby' });
    await sendAndSeeEcho(bob, 'bob', 'Hello Ada, Bob here.');
    await waitForMessage(ada, 'bob', 'Hello Ada, Bob here.');
    await send(ada, 'The server restarts in a minute: keep typing, nothing gets lost.');
    await waitForMessage(bob, 'ada', 'The server restarts in a minute: keep typing, nothing gets lost.');
    await sendAndSeeEcho(bob, 'bob', 'Good to know — merci !');
    await waitForMessage(ada, 'bob', 'Good to know — merci !');

    const seenByAda = await messages(ada);
    const seenByBob = await messages(bob);
    assert.deepEqual(seenByAda.map((m) => `${m.sender}: ${m.content}`), [
      'ada: Hi! Anyone here?',
      'bob: Hello Ada, Bob here.',
      'ada: The server restarts in a minute: keep typing, nothing gets lost.',
      'bob: Good to know — merci !',
    ]);
    // Bob joined after Ada's first message: a topic has no history.
    assert.deepEqual(seenByBob.map((m) => `${m.sender}: ${m.content}`), seenByAda.slice(1).map((m) => `${m.sender}: ${m.content}`));
    // Each line shows the server's timestamp, the same instant on both pages.
    for (const m of seenByAda) assert.ok(Math.abs(Date.parse(m.time) - Date.now()) < 60000, `timestamp ${m.time}`);
    assert.deepEqual(seenByBob.map((m) => m.time), seenByAda.slice(1).map((m) => m.time));
    assert.equal(await ada.textContent('.message[data-sender="bob"] .sender'), 'bob');
    assert.match(await ada.textContent('.message[data-sender="bob"] time'), /\d{1,2}:\d{2}/);
    assert.equal(await ada.isHidden('#queued'), true, 'nothing queued while connected');
    await screenshot(ada, 'chat-connected');
    await screenshot(bob, 'chat-connected-bob');
    assert.deepEqual([...ada.errors, ...bob.errors], []);
    await ada.context().close();
    await bob.context().close();
  });

  test('a page and the native CLI chat in the same room, both ways', async () => {
    const cli = startCli(suite.server.url, 'shared', 'terminal', ['--heartbeat', '0']);
    try {
      await cli.waitStderr(/^connected/);
      // The CLI sees its own line back: its subscription is live on the suite.server.
      cli.say('hello from the terminal');
      await cli.waitLine(/^\[terminal\] hello from the terminal$/);

      const page = await openChat(suite.browser, suite.server.httpUrl, { user: 'ada', room: 'shared' });
      await sendAndSeeEcho(page, 'ada', 'hi terminal, this is the browser');
      await cli.waitLine(/^\[ada\] hi terminal, this is the browser$/);
      cli.say('hi suite.browser, the terminal got you');
      await waitForMessage(page, 'terminal', 'hi suite.browser, the terminal got you');
      await cli.waitLine(/^\[terminal\] hi suite.browser, the terminal got you$/);

      assert.deepEqual(cli.lines(), [
        '[terminal] hello from the terminal',
        '[ada] hi terminal, this is the browser',
        '[terminal] hi suite.browser, the terminal got you',
      ]);
      assert.deepEqual((await messages(page)).map((m) => `${m.sender}: ${m.content}`), [
        'ada: hi terminal, this is the browser',
        'terminal: hi suite.browser, the terminal got you',
      ]);
      await screenshot(page, 'chat-with-cli');
      assert.deepEqual(page.errors, []);
      await page.context().close();
    } finally {
      const { code } = await cli.stop();
      assert.equal(code, 0, `stompwire-cli exit code (stderr: ${cli.stderr})`);
    }
  });
});
