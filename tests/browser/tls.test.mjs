// The chat page over https:// and wss:// with a test certificate made at test time. Chromium trusts
// exactly that certificate's key (--ignore-certificate-errors-spki-list with its SPKI hash), not every
// certificate: a second server with another self-signed certificate is still refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { launch, messages, openChat, screenshot, sendAndSeeEcho, skip, startChatServer, viewport } from './support/chat.mjs';

function makeCert(dir, name) {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  // base64(sha256(DER SubjectPublicKeyInfo)): the form Chromium's SPKI allow-list takes.
  const pub = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-pubkey']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  const spki = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
  return { cert, key, spki };
}

describe('chat over TLS', { skip, timeout: 120000 }, () => {
  let dir;
  let trusted;
  let other;
  let browser;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stompwire-browser-tls-'));
    const a = makeCert(dir, 'trusted');
    const b = makeCert(dir, 'other');
    assert.notEqual(a.spki, b.spki);
    trusted = await startChatServer(['--tls-cert', a.cert, '--tls-key', a.key]);
    other = await startChatServer(['--tls-cert', b.cert, '--tls-key', b.key]);
    browser = await launch([`--ignore-certificate-errors-spki-list=${a.spki}`]);
  });
  after(async () => {
    await browser?.close();
    await trusted?.stop();
    await other?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the page loads over https and chats over wss', async () => {
    assert.match(trusted.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const page = await openChat(browser, trusted.httpUrl, { user: 'ada', room: 'secure' });
    assert.equal(await page.evaluate(() => window.stompwireChat.client.brokerURL), `${trusted.url}`, 'wss:// derived from the https page');
    assert.match(trusted.url, /^wss:\/\//);
    await sendAndSeeEcho(page, 'ada', 'hello over wss');
    const bob = await openChat(browser, trusted.httpUrl, { user: 'bob', room: 'secure' });
    await sendAndSeeEcho(bob, 'bob', 'hi ada, TLS both ways');
    await page.waitForFunction(() => document.querySelectorAll('#messages .message:not(.pending)').length === 2);
    assert.deepEqual((await messages(page)).map((m) => `${m.sender}: ${m.content}`), ['ada: hello over wss', 'bob: hi ada, TLS both ways']);
    await screenshot(page, 'chat-tls');
    assert.deepEqual([...page.errors, ...bob.errors], []);
    await page.context().close();
    await bob.context().close();
  });

  test('only that certificate is trusted: another self-signed one is refused', async () => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await assert.rejects(page.goto(`${other.httpUrl}/`), /ERR_CERT_AUTHORITY_INVALID|ERR_CERT/);
    await context.close();
  });
});
