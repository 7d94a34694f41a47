// transport.mjs's socket for transport 'sockjs' and 'auto', driven with fake sockets (no network, no
// wasm): what the client core sees when the app closes early, SockJS loads slowly or fails, and 'auto'
// falls over and remembers what worked.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { makeTransportFactory } from '../../bindings/js/transport.mjs';
import { until } from './support/mock-broker.mjs';

// A close event made when no socket could be created: the reason alone, the client core (stompwire.mjs)
// reads a missing code as 1006 and a missing wasClean as not clean.
const closedAbnormally = (ev, reason) => {
  assert.equal(ev.reason, reason);
  assert.equal(ev.code ?? 1006, 1006);
  assert.ok(!ev.wasClean);
};

const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

// A WebSocket-like object the test opens, feeds and closes by hand.
class FakeSocket {
  constructor(kind, url, log) {
    this.kind = kind;
    this.url = url;
    this.readyState = 0;
    this.protocol = kind === 'websocket' ? 'v12.stomp' : 'xhr-streaming';
    this.sent = [];
    this.closes = [];
    log.push(this);
  }
  send(d) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(d);
  }
  close(code, reason) {
    this.closes.push([code, reason]);
  }
  open() {
    this.readyState = 1;
    this.onopen?.({ type: 'open' });
  }
  receive(data) {
    this.onmessage?.({ type: 'message', data });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onerror?.({ type: 'error', message: 'dropped' });
    this.onclose?.({ type: 'close', code, reason, wasClean: false });
  }
}

function setup(options) {
  const log = [];
  const SockJS = class extends FakeSocket {
    constructor(url, _reserved, opts) {
      if (SockJS.fail) throw new Error(SockJS.fail);
      super('sockjs', url, log);
      this.options = opts;
    }
  };
  const factory = makeTransportFactory({ SockJS, ...options }, (url) => {
    if (setup.wsFail) throw new Error(setup.wsFail);
    return new FakeSocket('websocket', url, log);
  });
  const open = () => {
    const s = factory('ws://127.0.0.1:1/ws', ['v12.stomp']);
    const events = [];
    s.onopen = (e) => events.push(['open', e]);
    s.onmessage = (e) => events.push(['message', e.data]);
    s.onerror = (e) => events.push(['error', e]);
    s.onclose = (e) => events.push(['close', { code: e.code, reason: e.reason, wasClean: e.wasClean }]);
    return { s, events };
  };
  return { log, SockJS, factory, open };
}

test("transport 'sockjs': close() before sockjs-client is loaded closes cleanly and never creates it", async () => {
  const t = setup({ transport: 'sockjs' });
  const { s, events } = t.open();
  s.close(4000, 'gave up');
  assert.equal(s.readyState, 2);
  await ticks();
  assert.deepEqual(events, [['close', { code: 4000, reason: 'gave up', wasClean: true }]]);
  assert.equal(s.readyState, 3);
  assert.equal(t.log.length, 0);
});

test("transport 'sockjs': close() while SockJS connects waits for its open, then closes it with the code", async () => {
  const t = setup({ transport: 'sockjs', sockjsOptions: { transports: ['xhr-polling'] } });
  const { s, events } = t.open();
  await ticks();
  const [sj] = t.log;
  assert.equal(sj.url, 'http://127.0.0.1:1/sockjs');
  assert.deepEqual(sj.options, { transports: ['xhr-polling'] });
  s.close(1000, 'bye');
  assert.deepEqual(sj.closes, []);
  sj.open();
  assert.deepEqual(sj.closes, [[1000, 'bye']]);
  sj.readyState = 3;
  sj.onclose({ type: 'close', code: 1000, reason: 'bye', wasClean: true });
  assert.deepEqual(events, [['close', { code: 1000, reason: 'bye', wasClean: true }]]);
});

test("transport 'sockjs': an open SockJS carries frames as text, protocol '', and is remembered", async () => {
  const t = setup({ transport: 'sockjs' });
  const { s, events } = t.open();
  assert.equal(s.bufferedAmount, 0);
  await ticks();
  const [sj] = t.log;
  sj.open();
  assert.equal(s.readyState, 1);
  assert.equal(s.protocol, '');
  assert.ok(!t.factory._worked, 'nothing remembered before a first frame');
  s.send(new TextEncoder().encode('SEND\n\nbin\0'));
  s.send('SEND\n\ntext\0');
  assert.deepEqual(sj.sent, ['SEND\n\nbin\0', 'SEND\n\ntext\0']);
  sj.receive('CONNECTED\n\n\0');
  assert.equal(t.factory._worked, 'sockjs');
  // SockJS's own error events are not passed on; its close is.
  sj.onerror?.({ type: 'error' });
  sj.readyState = 3;
  sj.onclose({ type: 'close', code: 1006, reason: 'Server lost session', wasClean: false });
  assert.deepEqual(events.map((e) => e[0]), ['open', 'message', 'close']);
  assert.deepEqual(events[2][1], { code: 1006, reason: 'Server lost session', wasClean: false });
  assert.equal(s.readyState, 3);
});

test("transport 'sockjs': a SockJS constructor that throws is an error and a 1006 close", async () => {
  const t = setup({ transport: 'sockjs' });
  t.SockJS.fail = 'bad url';
  const { events } = t.open();
  await ticks();
  assert.deepEqual(events.map((e) => e[0]), ['error', 'close']);
  // the error event is what the constructor threw, as when webSocketFactory throws (ClientError.event)
  assert.ok(events[0][1] instanceof Error);
  assert.equal(events[0][1].message, 'bad url');
  closedAbnormally(events[1][1], 'bad url');
});

test("transport 'auto': a WebSocket closed before the first frame falls over to SockJS, replays and remembers", async () => {
  const t = setup({ transport: 'auto' });
  const { s, events } = t.open();
  const [ws] = t.log;
  ws.open();
  assert.equal(s.protocol, 'v12.stomp');
  s.send('CONNECT\n\n\0');
  assert.deepEqual(ws.sent, ['CONNECT\n\n\0']);
  ws.drop(1002, 'proxy said no'); // error and close of the WebSocket: swallowed by the fall-over
  assert.equal(s.readyState, 1);
  s.send('SEND\n\n\0'); // while SockJS loads: kept for the replay
  await ticks();
  const [, sj] = t.log;
  assert.equal(sj.kind, 'sockjs');
  sj.open();
  assert.deepEqual(sj.sent, ['CONNECT\n\n\0', 'SEND\n\n\0']);
  sj.receive('CONNECTED\n\n\0');
  assert.equal(t.factory._worked, 'sockjs');
  assert.deepEqual(events.map((e) => e[0]), ['open', 'message']);
  s.close(1000, '');
  assert.deepEqual(sj.closes, [[1000, '']]);

  // The next connection tries SockJS first; when it cannot be created, WebSocket is next.
  t.SockJS.fail = 'no SockJS today';
  const second = t.open();
  await ticks();
  const ws2 = t.log[2];
  assert.equal(ws2.kind, 'websocket');
  ws2.open();
  ws2.receive('CONNECTED\n\n\0');
  assert.equal(t.factory._worked, 'websocket');
  assert.deepEqual(second.events.map((e) => e[0]), ['open', 'message']);
});

test("transport 'auto': a silent WebSocket is dropped after fallbackTimeout; close() while SockJS loads", async () => {
  const t = setup({ transport: 'auto', fallbackTimeout: 20 });
  const { s, events } = t.open();
  const [ws] = t.log;
  await until(() => ws.closes.length, 'the fallback timeout closing the silent WebSocket');
  assert.deepEqual(ws.closes, [[1000, undefined]]);
  const [, sj] = t.log;
  assert.equal(sj.kind, 'sockjs');
  // The abandoned WebSocket's late events change nothing.
  ws.open();
  ws.drop();
  assert.deepEqual(events, []);
  sj.drop(1006, 'All transports failed');
  assert.deepEqual(events.map((e) => e[0]), ['close']);
  assert.deepEqual(events[0][1], { code: 1006, reason: 'All transports failed', wasClean: false });

  // The app closes while SockJS still loads (the WebSocket is gone): a clean close, no SockJS.
  setup.wsFail = 'no WebSocket';
  try {
    const n = t.log.length;
    const second = t.open();
    second.s.close(4000, 'deactivate');
    await ticks();
    assert.equal(t.log.length, n);
    assert.deepEqual(second.events, [['close', { code: 4000, reason: 'deactivate', wasClean: true }]]);
  } finally {
    setup.wsFail = undefined;
  }
});

test("transport 'auto': when every kind fails, the last one's error and a 1006 close", async () => {
  setup.wsFail = 'no WebSocket';
  try {
    const t = setup({ transport: 'auto' });
    t.SockJS.fail = 'no SockJS';
    const { events } = t.open();
    await ticks();
    assert.deepEqual(events.map((e) => e[0]), ['error', 'close']);
    assert.ok(events[0][1] instanceof Error);
    assert.equal(events[0][1].message, 'no SockJS');
    closedAbnormally(events[1][1], 'no SockJS');
  } finally {
    setup.wsFail = undefined;
  }
});

test('an unknown transport is an invalid_option error naming the option', () => {
  assert.throws(() => makeTransportFactory({ transport: 'pigeon' }, () => {}), (e) => e.code === 'invalid_option' && e.option === 'transport');
  const ws = () => {};
  assert.equal(makeTransportFactory({}, ws), ws);
  assert.equal(makeTransportFactory({ transport: 'websocket' }, ws), ws);
});
