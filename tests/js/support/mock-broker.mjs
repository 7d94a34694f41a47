// A small in-process STOMP 1.2 broker over `ws` for the npm package's tests, until the reference server
// (tests/js/support/server.mjs) is in main. It speaks just what the tests need: CONNECT/STOMP,
// SUBSCRIBE/UNSUBSCRIBE, SEND to /topic/* (fan-out) and /queue/* (one consumer, ack/nack, redelivery),
// receipts, BEGIN/COMMIT/ABORT, DISCONNECT, heart-beats (which a test can silence), binary frames, and a
// restart on the same port. Loopback only.
import { WebSocketServer } from 'ws';

function parseFrames(state, chunk) {
  state.buf = Buffer.concat([state.buf, chunk]);
  const frames = [];
  for (;;) {
    let i = 0;
    while (i < state.buf.length && (state.buf[i] === 10 || state.buf[i] === 13)) i++;
    if (i) {
      state.heartbeats += i;
      state.buf = state.buf.subarray(i);
    }
    const headEnd = state.buf.indexOf('\n\n');
    if (headEnd < 0) return frames;
    const lines = state.buf.subarray(0, headEnd).toString('utf8').split('\n').map((l) => l.replace(/\r$/, ''));
    const command = lines.shift();
    const headers = {};
    for (const l of lines) {
      const c = l.indexOf(':');
      const name = unescape(l.slice(0, c), command);
      if (!(name in headers)) headers[name] = unescape(l.slice(c + 1), command);
    }
    const start = headEnd + 2;
    let end;
    if (headers['content-length'] !== undefined) {
      end = start + Number(headers['content-length']);
      if (state.buf.length < end + 1) return frames;
    } else {
      end = state.buf.indexOf(0, start);
      if (end < 0) return frames;
    }
    frames.push({ command, headers, body: Buffer.from(state.buf.subarray(start, end)) });
    state.buf = state.buf.subarray(end + 1);
  }
}

function unescape(s, command) {
  if (command === 'CONNECT' || command === 'STOMP') return s;
  return s.replace(/\\(.)/g, (_, c) => ({ n: '\n', r: '\r', c: ':', '\\': '\\' })[c]);
}

function escape(s) {
  return String(s).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/:/g, '\\c');
}

export function serialize(command, headers, body = Buffer.alloc(0)) {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  let head = command + '\n';
  for (const [k, v] of Object.entries(headers)) head += `${command === 'CONNECTED' ? k : escape(k)}:${command === 'CONNECTED' ? v : escape(v)}\n`;
  if (b.length || command === 'MESSAGE') head += `content-length:${b.length}\n`;
  return Buffer.concat([Buffer.from(head + '\n'), b, Buffer.from([0])]);
}

export class MockBroker {
  constructor(options = {}) {
    this.options = { heartbeat: [0, 0], ...options };
    this.sessions = new Set();
    this.queues = new Map(); // destination -> pending messages
    this.received = []; // every frame received, with its session
    this.seq = 0;
    this.silent = false; // stop heart-beats and everything else: a stalled server
    this.connects = 0;
  }

  async start(port = 0) {
    this.wss = new WebSocketServer({
      host: '127.0.0.1',
      port,
      path: '/ws',
      handleProtocols: (protocols) => (protocols.has('v12.stomp') ? 'v12.stomp' : [...protocols][0] ?? false),
    });
    await new Promise((resolve, reject) => {
      this.wss.once('listening', resolve);
      this.wss.once('error', reject);
    });
    this.port = this.wss.address().port;
    this.url = `ws://127.0.0.1:${this.port}/ws`;
    this.wss.on('connection', (ws) => this.accept(ws));
    return this;
  }

  // Drops every connection and stops listening; start(this.port) brings it back.
  async stop() {
    for (const s of this.sessions) s.ws.terminate();
    this.sessions.clear();
    clearInterval(this.timer);
    await new Promise((resolve) => this.wss.close(resolve));
  }

  async restart() {
    await this.stop();
    await this.start(this.port);
  }

  accept(ws) {
    const s = { ws, subs: new Map(), tx: new Map(), state: { buf: Buffer.alloc(0), heartbeats: 0 }, unacked: new Map() };
    this.sessions.add(s);
    ws.on('message', (data, isBinary) => {
      if (this.silent) return;
      for (const f of parseFrames(s.state, data)) {
        f.binary = isBinary;
        this.received.push({ session: s, frame: f });
        this.onFrame(s, f);
      }
    });
    ws.on('close', () => {
      this.sessions.delete(s);
      clearInterval(s.hb);
      // Unacknowledged queue messages go back to the queue.
      for (const m of s.unacked.values()) this.enqueue(m.destination, m);
      s.unacked.clear();
    });
  }

  send(s, command, headers, body, binary = false) {
    if (s.ws.readyState !== 1) return;
    const bytes = serialize(command, headers, body);
    s.ws.send(binary ? bytes : bytes.toString('utf8'), { binary });
  }

  onFrame(s, f) {
    const h = f.headers;
    const receipt = () => h.receipt !== undefined && this.send(s, 'RECEIPT', { 'receipt-id': h.receipt });
    const inTx = h.transaction !== undefined && f.command !== 'BEGIN' && f.command !== 'COMMIT' && f.command !== 'ABORT';
    if (inTx) {
      const list = s.tx.get(h.transaction);
      if (!list) return this.error(s, `no transaction ${h.transaction}`);
      list.push(f);
      return receipt();
    }
    switch (f.command) {
      case 'CONNECT':
      case 'STOMP': {
        this.connects++;
        if (this.options.rejectLogin && h.login !== this.options.rejectLogin) return this.error(s, 'bad login');
        const [cx, cy] = (h['heart-beat'] ?? '0,0').split(',').map(Number);
        const [sx, sy] = this.options.heartbeat;
        const out = sx && cy ? Math.max(sx, cy) : 0;
        if (out) s.hb = setInterval(() => !this.silent && s.ws.readyState === 1 && s.ws.send('\n'), out);
        s.connectHeaders = h;
        return this.send(s, 'CONNECTED', { version: '1.2', 'heart-beat': `${sx},${sy}`, server: 'mock' });
      }
      case 'SUBSCRIBE':
        s.subs.set(h.id, { id: h.id, destination: h.destination, ack: h.ack ?? 'auto' });
        receipt();
        return this.pump(h.destination);
      case 'UNSUBSCRIBE':
        s.subs.delete(h.id);
        return receipt();
      case 'SEND':
        this.route(h.destination, { headers: h, body: f.body, binary: f.binary });
        return receipt();
      case 'ACK':
      case 'NACK': {
        const m = s.unacked.get(h.id);
        if (!m) return this.error(s, `unknown ack id ${h.id}`);
        s.unacked.delete(h.id);
        if (f.command === 'NACK') this.enqueue(m.destination, { ...m, redelivered: true });
        return receipt();
      }
      case 'BEGIN':
        s.tx.set(h.transaction, []);
        return receipt();
      case 'COMMIT':
      case 'ABORT': {
        const list = s.tx.get(h.transaction);
        s.tx.delete(h.transaction);
        if (!list) return this.error(s, `no transaction ${h.transaction}`);
        if (f.command === 'COMMIT') for (const t of list) this.onFrame(s, { ...t, headers: { ...t.headers, transaction: undefined, receipt: undefined } });
        return receipt();
      }
      case 'DISCONNECT':
        receipt();
        return setTimeout(() => s.ws.close(1000), 5);
      default:
        return this.error(s, `unknown command ${f.command}`);
    }
  }

  error(s, message) {
    this.send(s, 'ERROR', { message });
    setTimeout(() => s.ws.close(1002), 5);
  }

  route(destination, m) {
    if (destination === undefined) return;
    if (destination.startsWith('/queue/')) return this.enqueue(destination, { destination, ...m });
    for (const s of this.sessions) {
      for (const sub of s.subs.values()) if (sub.destination === destination) this.deliver(s, sub, { destination, ...m });
    }
  }

  enqueue(destination, m) {
    if (!this.queues.has(destination)) this.queues.set(destination, []);
    this.queues.get(destination).push(m);
    this.pump(destination);
  }

  pump(destination) {
    const q = this.queues.get(destination);
    if (!q) return;
    const consumers = [];
    for (const s of this.sessions) for (const sub of s.subs.values()) if (sub.destination === destination) consumers.push([s, sub]);
    while (q.length && consumers.length) {
      const [s, sub] = consumers[this.seq % consumers.length];
      this.deliver(s, sub, q.shift());
    }
  }

  deliver(s, sub, m) {
    const id = `m-${++this.seq}`;
    const headers = {};
    for (const [k, v] of Object.entries(m.headers)) {
      if (!['destination', 'receipt', 'content-length', 'transaction'].includes(k) && v !== undefined) headers[k] = v;
    }
    Object.assign(headers, { subscription: sub.id, 'message-id': id, destination: m.destination });
    if (m.redelivered) headers.redelivered = 'true';
    if (sub.ack !== 'auto') {
      headers.ack = id;
      s.unacked.set(id, m);
    }
    this.send(s, 'MESSAGE', headers, m.body, m.binary);
  }

  framesOf(command) {
    return this.received.filter((r) => r.frame.command === command).map((r) => r.frame);
  }
}

// Resolves when `predicate()` is truthy, polling on the event loop; rejects after `ms` with `what`.
export function until(predicate, what, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const check = () => {
      let v;
      try {
        v = predicate();
      } catch (e) {
        return reject(e);
      }
      if (v) return resolve(v);
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 2);
    };
    check();
  });
}
