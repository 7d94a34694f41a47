// The SockJS protocol at the HTTP level (as sockjs-protocol's tests and sockjs-node define it), and
// bad input: every refusal has its HTTP status and the server keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { startServer, waitFor } from './support/server.mjs';
import { metric, openStream, randomId, request } from './support/sockjs.mjs';

const CONNECT = 'CONNECT\naccept-version:1.2\nhost:/\n\n\u0000';

describe('SockJS protocol', () => {
  let server;
  let base;
  before(async () => {
    server = await startServer({
      args: ['--sockjs-heartbeat', '300', '--sockjs-session-timeout', '1000', '--sockjs-response-limit', '4096',
        '--max-frame-size', '4096', '--allow-origin', 'http://good.example'],
    });
    base = `${server.httpUrl}/sockjs`;
  });
  after(async () => {
    const { code } = await server.stop();
    assert.equal(code, 0);
    assert.doesNotMatch(server.stderr, /"level":"error"/);
  });

  const session = () => `${base}/${Math.floor(Math.random() * 1000)}/${randomId()}`;

  test('greeting, /info, /iframe.html with ETag, OPTIONS preflight', async () => {
    const g = await request(`${base}`);
    assert.equal(g.status, 200);
    assert.equal(g.body, 'Welcome to SockJS!\n');
    const info = await request(`${base}/info`);
    assert.equal(info.status, 200);
    assert.match(info.headers['content-type'], /^application\/json/);
    assert.match(info.headers['cache-control'], /no-store/);
    const j = JSON.parse(info.body);
    assert.equal(j.websocket, true);
    assert.equal(j.cookie_needed, false);
    assert.deepEqual(j.origins, ['*:*']);
    assert.equal(typeof j.entropy, 'number');
    assert.notEqual(JSON.parse((await request(`${base}/info`)).body).entropy, j.entropy);

    const iframe = await request(`${base}/iframe.html`);
    assert.equal(iframe.status, 200);
    assert.match(iframe.body, /SockJS\.bootstrap_iframe\(\)/);
    assert.ok(iframe.headers.etag);
    const again = await request(`${base}/iframe-1.6.1.html`, { headers: { 'If-None-Match': iframe.headers.etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');

    const pre = await request(`${session()}/xhr_send`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://good.example', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://good.example');
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.match(pre.headers['access-control-allow-methods'], /POST/);
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type');
    assert.ok(Number(pre.headers['access-control-max-age']) > 0);
  });

  test('xhr polling: o, then a[...] with the CONNECTED frame, then h on a quiet poll', async () => {
    const s = session();
    const open = await request(`${s}/xhr`, { method: 'POST' });
    assert.equal(open.status, 200);
    assert.equal(open.body, 'o\n');
    assert.match(open.headers['content-type'], /application\/javascript/);
    const sent = await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]) });
    assert.equal(sent.status, 204);
    assert.equal(sent.body, '');
    const poll = await request(`${s}/xhr`, { method: 'POST' });
    assert.match(poll.body, /^a\["CONNECTED\\nversion:1\.2\\n/);
    assert.ok(poll.body.endsWith('\\u0000"]\n'));
    const frames = JSON.parse(poll.body.slice(1));
    assert.match(frames[0], /^CONNECTED\n/);
    const quiet = await request(`${s}/xhr`, { method: 'POST' });
    assert.equal(quiet.body, 'h\n');  // heart-beat after 300 ms of nothing
  });

  test('xhr_send: malformed JSON -> 500 "Broken JSON encoding.", empty -> 500 "Payload expected.", unknown session -> 404', async () => {
    const s = session();
    assert.equal((await request(`${s}/xhr`, { method: 'POST' })).body, 'o\n');
    for (const bad of ['[bad', '{"a":1}', '[1,2]', '["ok", 3]', 'null']) {
      const r = await request(`${s}/xhr_send`, { method: 'POST', body: bad });
      assert.equal(r.status, 500, bad);
      assert.equal(r.body, 'Broken JSON encoding.');
    }
    const empty = await request(`${s}/xhr_send`, { method: 'POST', body: '' });
    assert.equal(empty.status, 500);
    assert.equal(empty.body, 'Payload expected.');
    const unknown = await request(`${base}/000/nosuchsession/xhr_send`, { method: 'POST', body: '["x"]' });
    assert.equal(unknown.status, 404);
    const unknownJsonp = await request(`${base}/000/nosuchsession/jsonp_send`, { method: 'POST', body: 'd=%5B%22x%22%5D' });
    assert.equal(unknownJsonp.status, 404);
    // The session survived the bad sends and still works.
    assert.equal((await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]) })).status, 204);
    assert.match((await request(`${s}/xhr`, { method: 'POST' })).body, /^a\["CONNECTED/);
  });

  test('oversize POST -> 413; an oversize STOMP frame inside a valid send -> ERROR and c[...] close', async () => {
    const s = session();
    assert.equal((await request(`${s}/xhr`, { method: 'POST' })).body, 'o\n');
    const huge = JSON.stringify(['x'.repeat(200 * 1024)]);
    const r = await request(`${s}/xhr_send`, { method: 'POST', body: huge });
    assert.equal(r.status, 413);
    // The frame limit is the broker's (4096 here): 10 KB in one message gets a STOMP ERROR.
    assert.equal((await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]) })).status, 204);
    assert.match((await request(`${s}/xhr`, { method: 'POST' })).body, /^a\["CONNECTED/);
    const big = `SEND\ndestination:/topic/big\n\n${'y'.repeat(10000)}\u0000`;
    assert.equal((await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([big]) })).status, 204);
    let text = '';
    for (let i = 0; i < 3 && !text.includes('c['); i++) text += (await request(`${s}/xhr`, { method: 'POST' })).body;
    assert.match(text, /a\["ERROR\\n/);
    assert.match(text, /c\[1009,/);
    // A closed session answers every later poll with its close frame, and the server is fine.
    assert.match((await request(`${s}/xhr`, { method: 'POST' })).body, /^c\[1009,/);
    assert.equal((await request(`${server.httpUrl}/healthz`)).status, 200);
  });

  test('a second receiver gets c[2010,"Another connection still open"] and the first keeps working', async () => {
    const s = session();
    const first = openStream(`${s}/xhr_streaming`);
    await waitFor(() => first.text.endsWith('o\n'), 3000, 'o on the stream');
    assert.equal(first.text.length, 2049 + 2);  // 2 KiB prelude of 'h' + newline, then "o\n"
    const second = await request(`${s}/xhr_streaming`, { method: 'POST' });
    assert.ok(second.body.endsWith('c[2010,"Another connection still open"]\n'));
    const polling = await request(`${s}/xhr`, { method: 'POST' });
    assert.equal(polling.body, 'c[2010,"Another connection still open"]\n');
    await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]) });
    await waitFor(() => first.text.includes('a["CONNECTED'), 3000, 'CONNECTED on the first stream');
    first.destroy();
  });

  test('streaming responses end after the byte limit and the session continues on a new one', async () => {
    const s = session();
    const first = openStream(`${s}/xhr_streaming`);
    await waitFor(() => first.text.endsWith('o\n'), 3000, 'o');
    await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT, 'SUBSCRIBE\nid:0\ndestination:/topic/lim\n\n\u0000']) });
    const body = 'z'.repeat(3000);
    for (let i = 0; i < 3; i++)
      await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([`SEND\ndestination:/topic/lim\n\n${body}\u0000`]) });
    const ended = await first.ended;  // the server ended it: 2 KiB prelude + frames >= 4 KiB
    assert.ok(ended.length >= 4096);
    const second = openStream(`${s}/xhr_streaming`);
    await waitFor(() => (second.text.match(/MESSAGE/g) ?? []).length + (ended.match(/MESSAGE/g) ?? []).length === 3, 3000, 'all three MESSAGEs');
    assert.ok(!second.text.slice(2049).startsWith('o'), 'no second open frame');
    second.destroy();
  });

  test('eventsource, htmlfile and jsonp framing; callback checks', async () => {
    const s = session();
    const es = openStream(`${s}/eventsource`, { method: 'GET' });
    await waitFor(() => es.text.includes('data: o\r\n\r\n'), 3000, 'eventsource open');
    assert.equal(es.headers['content-type'], 'text/event-stream');
    assert.ok(es.text.startsWith('\r\n'));
    await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]) });
    await waitFor(() => es.text.includes('data: a["CONNECTED'), 3000, 'eventsource data');
    es.destroy();

    const h = session();
    const hf = openStream(`${h}/htmlfile?c=cb_1.x`, { method: 'GET' });
    await waitFor(() => hf.text.includes('p("o");'), 3000, 'htmlfile open');
    assert.match(hf.text, /var c = parent\.cb_1\.x;/);
    assert.ok(hf.text.indexOf('<script>\np("o");') >= 1024);
    hf.destroy();

    const j = session();
    const jp = await request(`${j}/jsonp?c=callback`);
    assert.equal(jp.body, '/**/callback("o");\r\n');
    const send = await request(`${j}/jsonp_send`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `d=${encodeURIComponent(JSON.stringify([CONNECT]))}`,
    });
    assert.equal(send.status, 200);
    assert.equal(send.body, 'ok');
    assert.match((await request(`${j}/jsonp?c=callback`)).body, /^\/\*\*\/callback\("a\[\\"CONNECTED/);

    for (const t of ['jsonp', 'htmlfile']) {
      const none = await request(`${session()}/${t}`);
      assert.equal(none.status, 500);
      assert.equal(none.body, '"callback" parameter required');
      const evil = await request(`${session()}/${t}?c=${encodeURIComponent('alert(1)//')}`);
      assert.equal(evil.status, 500);
      assert.equal(evil.body, 'invalid "callback" parameter');
    }
  });

  test('bad paths and methods: 404 / 405 / 400, nothing crashes', async () => {
    assert.equal((await request(`${base}/a/b/c/d/xhr`, { method: 'POST' })).status, 404);
    assert.equal((await request(`${base}/a.b/c/xhr`, { method: 'POST' })).status, 404);
    assert.equal((await request(`${base}/a//xhr`, { method: 'POST' })).status, 404);
    assert.equal((await request(`${base}/a/b/nosuchtransport`, { method: 'POST' })).status, 404);
    assert.equal((await request(`${base}/a/b/xhr`, { method: 'GET' })).status, 405);
    assert.equal((await request(`${base}/a/b/eventsource`, { method: 'POST' })).status, 405);
    assert.equal((await request(`${base}/a/b/websocket`)).status, 400);
    assert.equal((await request(`${base}/websocket`)).status, 400);
    assert.equal((await request(`${base}/info`, { method: 'DELETE' })).status, 405);
    assert.equal((await request(`${server.httpUrl}/healthz`)).status, 200);
  });

  test('random garbage under /sockjs gets HTTP errors, never a crash', async () => {
    // Deterministic pseudo-random (LCG) so a failure reproduces.
    let seed = 12345;
    const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const pick = (xs) => xs[rnd(xs.length)];
    const s = session();
    assert.equal((await request(`${s}/xhr`, { method: 'POST' })).body, 'o\n');
    const bodies = ['', '[', '["a"', '[1]', '"x"', '[["nested"]]', '[' + '['.repeat(5000), '["\\ud800"]', '\u0000\u00ff', '["ok"]',
      JSON.stringify(['SEND\ndestination:/topic/x\n\nbody\u0000']), 'd=%5B%22x', 'x'.repeat(3000)];
    const paths = [`${s}/xhr_send`, `${s}/jsonp_send`, `${base}/a/b/xhr_send`, `${base}/%2e%2e/x/xhr`, `${base}/info?x=%zz`,
      `${base}/${'a'.repeat(70)}/b/xhr`, `${base}/a/b/jsonp?c=${'x'.repeat(40)}`, `${base}/a/b/htmlfile?c=%3Cscript%3E`, `${base}/iframe.html`];
    const allowed = new Set([200, 204, 304, 400, 403, 404, 405, 413, 500]);
    for (let i = 0; i < 300; i++) {
      const method = pick(['GET', 'POST', 'PUT', 'OPTIONS', 'DELETE']);
      const r = await request(pick(paths), { method, body: method === 'GET' ? undefined : pick(bodies) });
      assert.ok(allowed.has(r.status), `status ${r.status}`);
    }
    assert.equal((await request(`${server.httpUrl}/healthz`)).status, 200);
  });

  test('origin rules of /ws apply: a foreign Origin gets 403 and no session', async () => {
    const s = session();
    const bad = await request(`${s}/xhr`, { method: 'POST', headers: { Origin: 'http://evil.example' } });
    assert.equal(bad.status, 403);
    assert.equal((await request(`${s}/xhr_send`, { method: 'POST', body: '["x"]' })).status, 404);
    assert.equal((await request(`${base}/info`, { headers: { Origin: 'http://evil.example' } })).status, 403);
    const good = await request(`${s}/xhr`, { method: 'POST', headers: { Origin: 'http://good.example' } });
    assert.equal(good.status, 200);
    assert.equal(good.body, 'o\n');
    assert.equal(good.headers['access-control-allow-origin'], 'http://good.example');
  });

  test('a session only answers the address that created it (ids are chosen by clients)', async () => {
    const s = session();
    assert.equal((await request(`${s}/xhr`, { method: 'POST' })).body, 'o\n');
    // 127.0.0.2 is loopback too, but another peer address.
    const send = await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]), localAddress: '127.0.0.2' });
    assert.equal(send.status, 404);
    const poll = await request(`${s}/xhr`, { method: 'POST', localAddress: '127.0.0.2' });
    assert.equal(poll.status, 404);
    assert.equal((await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]) })).status, 204);
    assert.match((await request(`${s}/xhr`, { method: 'POST' })).body, /^a\["CONNECTED/);
  });

  test('session timeout: a session nobody polls is freed (xhr_send then 404)', async () => {
    const before = await metric(server.httpUrl, 'stompwire_sockjs_timeouts_total');
    const s = session();
    assert.equal((await request(`${s}/xhr`, { method: 'POST' })).body, 'o\n');
    assert.equal((await request(`${s}/xhr_send`, { method: 'POST', body: JSON.stringify([CONNECT]) })).status, 204);
    await waitFor(async () => (await request(`${s}/xhr_send`, { method: 'POST', body: '[]' })).status === 404, 3000, 'session timeout');
    assert.ok((await metric(server.httpUrl, 'stompwire_sockjs_timeouts_total')) > before);
  });

  test('framed websocket: o, a[...], h; broken framing closes with 3000', async () => {
    const ws = new WebSocket(`${server.url.replace('/ws', '/sockjs')}/0/${randomId()}/websocket`);
    const got = [];
    ws.on('message', (d) => got.push(d.toString()));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    await waitFor(() => got[0] === 'o', 3000, 'o');
    ws.send(JSON.stringify([CONNECT]));
    await waitFor(() => got.some((f) => f.startsWith('a["CONNECTED')), 3000, 'CONNECTED');
    ws.send(JSON.stringify('SUBSCRIBE\nid:1\ndestination:/topic/w\nreceipt:r1\n\n\u0000'));  // a single string is accepted too
    await waitFor(() => got.some((f) => f.includes('RECEIPT')), 3000, 'RECEIPT');
    await waitFor(() => got.includes('h'), 3000, 'heart-beat frame');
    const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.send('[not json');
    assert.deepEqual(await closed, { code: 3000, reason: 'Broken framing.' });
  });

  test('raw /sockjs/websocket speaks plain STOMP like /ws', async () => {
    const ws = new WebSocket(`${server.url.replace('/ws', '/sockjs/websocket')}`);
    const got = [];
    ws.on('message', (d) => got.push(d.toString()));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(CONNECT);
    await waitFor(() => got.some((f) => f.startsWith('CONNECTED\n')), 3000, 'CONNECTED');
    ws.close();
  });
});

describe('SockJS with authentication and WebSocket refused', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--jwt-secret', 'sekrit', '--sockjs-no-websocket'] });
  });
  after(async () => {
    await server.stop();
  });

  test('no token -> 401 on session creation; /info says websocket:false; upgrades refused', async () => {
    const base = `${server.httpUrl}/sockjs`;
    const r = await request(`${base}/1/${randomId()}/xhr`, { method: 'POST' });
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'], /Bearer/);
    const bad = await request(`${base}/1/${randomId()}/xhr?access_token=not.a.jwt`, { method: 'POST' });
    assert.equal(bad.status, 401);
    assert.equal(JSON.parse((await request(`${base}/info`)).body).websocket, false);
    const ws = new WebSocket(`${server.url.replace('/ws', '/sockjs')}/0/${randomId()}/websocket`);
    const status = await new Promise((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    assert.equal(status, 404);
  });
});

describe('SockJS and --max-connections', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--max-connections', '2', '--sockjs-session-timeout', '200'] });
  });
  after(async () => {
    await server.stop();
  });

  test('SockJS sessions count against the limit with WebSocket connections; freed ones make room', async () => {
    const base = `${server.httpUrl}/sockjs`;
    const ws = new WebSocket(server.url, ['v12.stomp']);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    assert.equal((await request(`${base}/1/${randomId()}/xhr`, { method: 'POST' })).body, 'o\n');
    const full = await request(`${base}/1/${randomId()}/xhr`, { method: 'POST' });
    assert.equal(full.status, 503);
    const fullWs = new WebSocket(server.url, ['v12.stomp']);
    const status = await new Promise((resolve) => fullWs.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    assert.equal(status, 503);
    // The polling session times out (200 ms): there is room again.
    await waitFor(async () => (await request(`${base}/1/${randomId()}/xhr`, { method: 'POST' })).status === 200, 3000, 'room after the timeout');
    ws.close();
  });
});
