// The Node runner of the shared scenario suite (tests/scenarios/README.md describes the format): runs one
// scenario file against stompwire-server (or RabbitMQ Web-STOMP for `interop` scenarios) with the npm
// package's Client (the wasm build). Nothing in here knows any particular scenario.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

import { Client } from '../../../bindings/js/stompwire.mjs';
import { httpGet, startServer } from './server.mjs';

const DEFAULT_WAIT_MS = 5000;
const METRICS = ['attempts', 'reconnects', 'connects', 'consecutiveFailures', 'queueDepth', 'queueBytes', 'pendingReceipts',
  'subscriptions', 'framesIn', 'framesOut', 'heartbeatsIn', 'heartbeatsOut', 'state', 'lastError'];
const POLL_MS = 5;

const sleepTick = () => new Promise((r) => setTimeout(r, POLL_MS));

class ScenarioError extends Error {}
const fail = (msg) => {
  throw new ScenarioError(msg);
};

// ---------------------------------------------------------------------------------------------
// Values shared with the native runner (same rules, see README)

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

export function makeJwt(spec) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { aud: 'stompwire', ...(spec.claims ?? {}) };
  if (spec.sub !== undefined) claims.sub = spec.sub;
  claims.exp = now + (spec.expiresIn ?? 300);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = b64url(createHmac('sha256', spec.secret).update(`${head}.${body}`).digest());
  return `${head}.${body}.${sig}`;
}

// A header/query value: a string, a number, or {"jwt": {...}}.
function value(v) {
  if (v && typeof v === 'object' && v.jwt) return makeJwt(v.jwt);
  return String(v);
}

function headerObject(h) {
  const out = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k] = value(v);
  return out;
}

function hexToBytes(hex) {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

// The body of a publish step (index i for `count`): {body} | {bodyHex} | {bodyRepeat: [text, n]}.
function bodyOf(step, i) {
  if (step.bodyHex !== undefined) return { bytes: hexToBytes(step.bodyHex) };
  if (step.bodyRepeat !== undefined) return { text: step.bodyRepeat[0].repeat(step.bodyRepeat[1]) };
  if (step.bodyJson !== undefined) return { text: JSON.stringify(step.bodyJson) };
  return { text: String(step.body ?? '').replaceAll('{i}', String(i)) };
}

// Expands an expected body list: strings, or {"template": "m{i}", "count": n, "from": 0}.
function expandBodies(list) {
  const out = [];
  for (const x of list) {
    if (typeof x === 'string') out.push(x);
    else for (let i = x.from ?? 0; i < (x.from ?? 0) + x.count; i++) out.push(x.template.replaceAll('{i}', String(i)));
  }
  return out;
}

// A condition value {"native": x, "wasm": y} is a documented difference between the two builds (README).
export function perRunner(cond, runner) {
  const out = {};
  for (const [k, v] of Object.entries(cond)) {
    const split = v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 2 && 'native' in v && 'wasm' in v;
    out[k] = split ? v[runner] : v;
  }
  return out;
}

const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const sorted = (a) => [...a].sort();

function subsequence(needle, hay) {
  let i = 0;
  for (const x of hay) if (i < needle.length && x === needle[i]) i++;
  return i === needle.length;
}

// JSON subset match: every key of `want` equals in `got` (recursively).
function matches(got, want) {
  if (want === null || typeof want !== 'object') return eq(got, want);
  if (got === null || typeof got !== 'object') return false;
  return Object.entries(want).every(([k, v]) => matches(got[k], v));
}

// ---------------------------------------------------------------------------------------------
// The world of one scenario run

export class ScenarioRun {
  constructor(scenario, { broker = 'stompwire', rabbitUrl, runId } = {}) {
    this.sc = scenario;
    this.broker = broker;
    this.rabbitUrl = rabbitUrl;
    this.runId = runId ?? `${process.pid}-${Date.now().toString(36)}`;
    this.server = null;
    this.serverPort = 0;
    this.serverExit = null;
    this.clients = new Map();
    this.subs = new Map();
    this.pubs = new Map();
    this.txs = new Map();
    this.log = [];
  }

  dest(d) {
    return String(d).replaceAll('{run}', this.runId);
  }

  get url() {
    if (this.broker === 'rabbitmq') return this.rabbitUrl;
    if (!this.server && !this.serverPort) fail('no server');
    return `ws://127.0.0.1:${this.serverPort}/ws`;
  }

  async startServer(args) {
    if (this.broker === 'rabbitmq') fail('server steps are not allowed in interop scenarios');
    this.serverArgs = args ?? this.serverArgs ?? [];
    const listen = this.serverPort ? ['--listen', `127.0.0.1:${this.serverPort}`] : [];
    this.server = await startServer({ args: [...listen, ...this.serverArgs] });
    this.serverPort = this.server.port;
    this.serverExit = null;
  }

  async stopServer(signal = 'SIGTERM') {
    if (!this.server) fail('stopServer: not running');
    const r = await this.server.stop(signal, 10000);
    this.serverExit = r.code ?? 128;
    this.server = null;
  }

  async run() {
    const sc = this.sc;
    const total = sc.timeoutMs ?? 30000;
    let timer;
    const cap = new Promise((_, rej) => {
      timer = setTimeout(() => rej(new ScenarioError(`scenario exceeded timeoutMs ${total}`)), total);
    });
    try {
      await Promise.race([this.body(), cap]);
    } finally {
      clearTimeout(timer);
      await this.cleanup();
    }
  }

  async body() {
    const sc = this.sc;
    if (this.broker !== 'rabbitmq' && sc.server !== null) await this.startServer(sc.server?.args ?? []);
    let n = 0;
    for (const step of sc.steps) {
      n++;
      try {
        await this.step(step);
      } catch (e) {
        if (e instanceof ScenarioError) {
          e.message = `step ${n} (${step.do}${step.note ? `: ${step.note}` : ''}): ${e.message}`;
        }
        throw e;
      }
    }
  }

  async cleanup() {
    for (const c of this.clients.values()) {
      try {
        c.client.dispose();
      } catch {}
    }
    if (this.server) await this.server.stop('SIGKILL', 5000).catch(() => {});
  }

  client(name) {
    const c = this.clients.get(name);
    if (!c) fail(`unknown client ${name}`);
    return c;
  }

  sub(name) {
    const s = this.subs.get(name);
    if (!s) fail(`unknown subscription ${name}`);
    return s;
  }

  // -------------------------------------------------------------------------------------------
  async step(step) {
    const s = perRunner(step, 'wasm');
    switch (s.do) {
      case 'client': return this.makeClient(s);
      case 'activate': this.client(s.client).client.activate(); return;
      case 'deactivate': {
        const c = this.client(s.client);
        const before = c.deactivated;
        c.client.deactivate({ force: !!s.force }).then(() => c.deactivated++);
        if (s.wait === false) return;
        await this.until(() => c.deactivated > before || 'not yet', s.timeoutMs, 'deactivate to finish');
        return;
      }
      case 'subscribe': return this.subscribe(s);
      case 'unsubscribe': this.sub(s.sub).handle.unsubscribe(); return;
      case 'ack':
      case 'nack': {
        const sb = this.sub(s.sub);
        const m = sb.messages[s.index ?? sb.messages.length - 1];
        if (!m) fail(`${s.do}: no message ${s.index} on ${s.sub}`);
        let code = 'ok';
        try {
          if (s.tx) this.txs.get(s.tx)[s.do](m.raw);
          else m.raw[s.do]();
        } catch (e) {
          code = e.code ?? String(e);
        }
        if (code !== (s.expectError ?? 'ok')) fail(`${s.do}: got ${code}, expected ${s.expectError ?? 'ok'}`);
        return;
      }
      case 'publish': return this.publish(s);
      case 'begin': {
        const c = this.client(s.client);
        let tx, code = 'ok';
        try {
          tx = c.client.begin(s.id);
        } catch (e) {
          code = e.code ?? String(e);
        }
        if (code !== (s.expectError ?? 'ok')) fail(`begin: got ${code}, expected ${s.expectError ?? 'ok'}`);
        if (tx) this.txs.set(s.name ?? 'tx', tx);
        return;
      }
      case 'commit':
      case 'abort': {
        const tx = this.txs.get(s.tx ?? 'tx');
        if (!tx) fail(`unknown transaction ${s.tx}`);
        let code = 'ok';
        try {
          tx[s.do]();
        } catch (e) {
          code = e.code ?? String(e);
        }
        if (code !== (s.expectError ?? 'ok')) fail(`${s.do}: got ${code}, expected ${s.expectError ?? 'ok'}`);
        return;
      }
      case 'startServer': return this.startServer(s.args);
      case 'stopServer': return this.stopServer(s.signal ?? 'SIGTERM');
      case 'restartServer':
        await this.stopServer(s.signal ?? 'SIGTERM');
        return this.startServer(s.args);
      case 'fault': return this.fault(s);
      case 'wait': return this.until(() => this.check(s), s.timeoutMs, JSON.stringify(step));
      case 'expect': {
        const why = await this.check(s, true);
        if (why !== true) fail(`expectation failed: ${why}`);
        return;
      }
      default:
        fail(`unknown step ${s.do}`);
    }
  }

  async until(pred, timeoutMs = DEFAULT_WAIT_MS, what = 'condition') {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await pred();
      if (last === true) return;
      if (Date.now() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}${typeof last === 'string' ? ` (last: ${last})` : ''}`);
      await sleepTick();
    }
  }

  makeClient(s) {
    const o = s.options ?? {};
    let url = this.url;
    if (s.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(s.query)) q.set(k, value(v));
      url += `?${q}`;
    }
    const connectHeaders = headerObject(o.connectHeaders);
    if (this.broker === 'rabbitmq') Object.assign(connectHeaders, { login: 'guest', passcode: 'guest' });
    const rec = {
      name: s.name,
      states: [],
      reasons: [],
      events: { connect: 0, disconnect: 0, stompError: 0, wsClose: 0, wsError: 0, beforeConnect: 0, unhandledReceipt: 0, unhandledMessage: 0 },
      stompErrors: [],
      wsErrors: [],
      disconnectErrors: [],
      receipts: new Set(),
      connectedHeaders: null,
      deactivated: 0,
    };
    const handshake = headerObject(s.handshakeHeaders);
    const plan = s.beforeConnect;
    const options = {
      brokerURL: url,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      connectionTimeout: 3000,
      receiptTimeout: 5000,
      disconnectTimeout: 2000,
      ...o,
      reconnect: { initialDelay: 50, maxDelay: 200, ...(o.reconnect ?? {}) },
      connectHeaders,
      webSocketFactory: (u, protocols) => new WebSocket(u, protocols, { headers: handshake, perMessageDeflate: false }),
      onCallbackError: (e) => this.log.push(`callback error: ${e?.stack ?? e}`),
    };
    if (plan) {
      options.beforeConnect = (client) => {
        const i = Math.min(rec.events.beforeConnect, plan.length - 1);
        rec.events.beforeConnect++;
        const h = headerObject(plan[i].connectHeaders);
        if (this.broker === 'rabbitmq') Object.assign(h, { login: 'guest', passcode: 'guest' });
        client.connectHeaders = h;
      };
    }
    const client = new Client(options);
    rec.client = client;
    client.onStateChange(({ state, reason }) => {
      rec.states.push(state);
      if (reason) rec.reasons.push(reason.code);
    });
    client.onConnect((f) => {
      rec.events.connect++;
      rec.connectedHeaders = f.headers;
    });
    client.onDisconnect((e) => {
      rec.events.disconnect++;
      rec.disconnectErrors.push(e ? e.code : 'none');
    });
    client.onStompError((f) => {
      rec.events.stompError++;
      rec.stompErrors.push(f.headers.message ?? '');
    });
    client.onWebSocketClose(() => rec.events.wsClose++);
    client.onWebSocketError((e) => {
      rec.events.wsError++;
      rec.wsErrors.push(e.code);
    });
    client.onUnhandledReceipt((f) => {
      rec.events.unhandledReceipt++;
      rec.receipts.add(f.headers['receipt-id']);
    });
    client.onUnhandledMessage(() => rec.events.unhandledMessage++);
    this.clients.set(s.name, rec);
    if (s.activate !== false) client.activate();
    return client.ready.then(() => {});
  }

  async subscribe(s) {
    const c = this.client(s.client);
    const name = s.name ?? s.destination;
    const rec = { name, messages: [], client: s.client };
    const headers = { ...headerObject(s.headers) };
    const confirm = s.receipt ?? c.client.connected;
    const receiptId = `sub-${name}-${this.runId}`;
    if (confirm) headers.receipt = receiptId;
    rec.handle = c.client.subscribe(this.dest(s.destination), (m) => rec.messages.push({
      raw: m,
      body: m.body,
      bytes: m.binaryBody,
      binary: m.isBinaryBody,
      headers: m.headers,
    }), headers);
    this.subs.set(name, rec);
    if (confirm) await this.until(() => c.receipts.has(receiptId) || `no RECEIPT ${receiptId}`, s.timeoutMs, `the SUBSCRIBE receipt of ${name}`);
  }

  async publish(s) {
    const target = s.tx ? this.txs.get(s.tx) : this.client(s.client).client;
    if (!target) fail(`unknown ${s.tx ? 'transaction' : 'client'}`);
    const name = s.name ?? 'publish';
    const list = this.pubs.get(name) ?? [];
    this.pubs.set(name, list);
    const count = s.count ?? 1;
    const mine = [];
    for (let i = 0; i < count; i++) {
      const b = bodyOf(s, i);
      const params = { destination: this.dest(s.destination), headers: headerObject(s.headers), receipt: !!s.receipt };
      if (b.bytes) params.binaryBody = b.bytes;
      else if (s.binary) params.binaryBody = new TextEncoder().encode(b.text);
      else params.body = b.text;
      const r = { result: 'pending' };
      list.push(r);
      mine.push(r);
      let p;
      try {
        p = target.publish(params);
      } catch (e) {
        r.result = e.code ?? String(e);
        continue;
      }
      p.then(() => (r.result = 'ok'), (e) => (r.result = e.code ?? String(e)));
    }
    // Let a refusal that is already known (queue_full...) settle before the next step.
    await new Promise((r) => setImmediate(r));
    if (s.wait) {
      await this.until(() => mine.every((r) => r.result !== 'pending') || 'pending', s.timeoutMs, `publish ${name} to settle`);
    }
  }

  async fault(s) {
    if (!this.server) fail('fault: no server');
    let path;
    if (s.action === 'drop') path = 'drop';
    else if (s.action === 'stall') path = `stall?ms=${s.ms}`;
    else if (s.action === 'heartbeats') path = `heartbeats?pause=${s.pause ? 1 : 0}`;
    else fail(`unknown fault ${s.action}`);
    const r = await httpGet(`${this.server.httpUrl}/admin/fault/${path}`, { method: 'POST' });
    if (r.status !== 200) fail(`fault ${path}: HTTP ${r.status} ${r.body}`);
  }

  async serverMetric(name) {
    if (!this.server) fail('serverMetric: no server');
    const r = await httpGet(`${this.server.httpUrl}/metrics`);
    for (const line of r.body.split('\n')) {
      if (line.startsWith('#')) continue;
      const sp = line.lastIndexOf(' ');
      if (line.slice(0, sp) === name) return Number(line.slice(sp + 1));
    }
    return 0;
  }

  // Returns true, or a string saying what does not hold (yet).
  async check(cond) {
    const s = perRunner(cond, 'wasm');
    if (s.client !== undefined) {
      const c = this.client(s.client);
      if (s.state !== undefined && c.client.state !== s.state) return `state of ${s.client} is ${c.client.state}, expected ${s.state}`;
      if (s.stateSequence && !subsequence(s.stateSequence, c.states)) return `states of ${s.client} ${JSON.stringify(c.states)} do not contain ${JSON.stringify(s.stateSequence)} in order`;
      if (s.reasonSeen && !c.reasons.includes(s.reasonSeen)) return `reasons of ${s.client} ${JSON.stringify(c.reasons)} lack ${s.reasonSeen}`;
      if (s.lastReason !== undefined && c.reasons.at(-1) !== s.lastReason) return `last reason of ${s.client} is ${c.reasons.at(-1)}, expected ${s.lastReason}`;
      if (s.stompError !== undefined && !c.stompErrors.some((m) => m.startsWith(s.stompError))) return `ERROR frames of ${s.client}: ${JSON.stringify(c.stompErrors)}, expected one starting with ${JSON.stringify(s.stompError)}`;
      if (s.wsError !== undefined && !c.wsErrors.includes(s.wsError)) return `WebSocket errors of ${s.client}: ${JSON.stringify(c.wsErrors)}, expected ${s.wsError}`;
      if (s.disconnectErrors !== undefined && !eq(c.disconnectErrors, s.disconnectErrors)) return `disconnect errors of ${s.client}: ${JSON.stringify(c.disconnectErrors)}, expected ${JSON.stringify(s.disconnectErrors)}`;
      for (const [k, v] of Object.entries(s.events ?? {})) {
        if (c.events[k] === undefined) fail(`unknown event ${k}`);
        if (c.events[k] !== v) return `${k} events of ${s.client}: ${c.events[k]}, expected ${v}`;
      }
      for (const [k, v] of Object.entries(s.eventsAtLeast ?? {})) {
        if (c.events[k] === undefined) fail(`unknown event ${k}`);
        if (c.events[k] < v) return `${k} events of ${s.client}: ${c.events[k]}, expected at least ${v}`;
      }
      for (const key of ['metrics', 'metricsAtLeast']) {
        if (!s[key]) continue;
        const m = c.client.metrics();
        for (const [k, v] of Object.entries(s[key])) {
          if (!METRICS.includes(k)) fail(`unknown metric ${k}`);
          const got = k === 'lastError' ? m.lastError ?? '' : m[k];
          if (key === 'metrics' ? got !== v : !(got >= v)) return `metric ${k} of ${s.client}: ${got}, expected ${key === 'metrics' ? '' : 'at least '}${v}`;
        }
      }
      if (s.connectedHeaders) {
        for (const [k, v] of Object.entries(s.connectedHeaders)) {
          const got = c.connectedHeaders?.[k];
          if (got !== v) return `CONNECTED header ${k}: ${got}, expected ${v}`;
        }
      }
    }
    const subNames = s.sub !== undefined ? [s.sub] : s.subs ?? [];
    for (const name of subNames) {
      const why = this.checkMessages(this.sub(name).messages, s, name);
      if (why !== true) return why;
    }
    if (s.union) {
      const all = s.union.flatMap((n) => this.sub(n).messages);
      const why = this.checkMessages(all, s, `union(${s.union.join(',')})`);
      if (why !== true) return why;
    }
    if (s.publish !== undefined) {
      const list = this.pubs.get(s.publish);
      if (!list) fail(`unknown publish ${s.publish}`);
      if (s.results !== undefined) {
        const got = list.map((r) => r.result);
        if (!eq(got, s.results)) return `results of publish ${s.publish}: ${JSON.stringify(got)}, expected ${JSON.stringify(s.results)}`;
      }
      if (s.result !== undefined) {
        const bad = list.find((r) => r.result !== s.result);
        if (bad) return `publish ${s.publish}: ${JSON.stringify(list.map((r) => r.result))}, expected all ${s.result}`;
      }
    }
    if (s.serverMetric !== undefined) {
      const got = await this.serverMetric(s.serverMetric);
      if (got !== s.value) return `server metric ${s.serverMetric}: ${got}, expected ${s.value}`;
    }
    if (s.serverExitCode !== undefined) {
      if (this.serverExit !== s.serverExitCode) return `server exit code ${this.serverExit}, expected ${s.serverExitCode}`;
    }
    return true;
  }

  checkMessages(msgs, s, name) {
    if (s.count !== undefined && msgs.length !== s.count) return `${name} has ${msgs.length} messages, expected ${s.count}`;
    if (s.countAtLeast !== undefined && msgs.length < s.countAtLeast) return `${name} has ${msgs.length} messages, expected at least ${s.countAtLeast}`;
    if (s.bodies) {
      const want = expandBodies(s.bodies);
      const got = msgs.map((m) => m.body);
      if (!eq(got, want)) return `${name} bodies ${JSON.stringify(got).slice(0, 300)}, expected ${JSON.stringify(want).slice(0, 300)}`;
    }
    if (s.bodySet) {
      const want = sorted(expandBodies(s.bodySet));
      const got = sorted(msgs.map((m) => m.body));
      if (!eq(got, want)) return `${name} bodies (any order) ${JSON.stringify(got).slice(0, 300)}, expected ${JSON.stringify(want).slice(0, 300)}`;
    }
    if (s.bodiesHex) {
      const got = msgs.map((m) => Buffer.from(m.bytes).toString('hex'));
      if (!eq(got, s.bodiesHex)) return `${name} bodies (hex) ${JSON.stringify(got)}, expected ${JSON.stringify(s.bodiesHex)}`;
    }
    if (s.bodySizes) {
      const got = msgs.map((m) => m.bytes.length);
      if (!eq(got, s.bodySizes)) return `${name} body sizes ${JSON.stringify(got)}, expected ${JSON.stringify(s.bodySizes)}`;
    }
    if (s.bodyRepeat) {
      const want = s.bodyRepeat[0].repeat(s.bodyRepeat[1]);
      const bad = msgs.findIndex((m) => m.body !== want);
      if (bad >= 0) return `${name} message ${bad} is not ${JSON.stringify(s.bodyRepeat)} (size ${msgs[bad].bytes.length})`;
    }
    if (s.binary) {
      const got = msgs.map((m) => m.binary);
      if (!eq(got, s.binary)) return `${name} binary flags ${JSON.stringify(got)}, expected ${JSON.stringify(s.binary)}`;
    }
    for (const h of s.headers ?? []) {
      const m = msgs[h.index];
      if (!m) return `${name} has no message ${h.index}`;
      const got = m.headers[h.name];
      if (h.absent ? got !== undefined : got !== h.value) return `${name}[${h.index}] header ${h.name}: ${got}, expected ${h.absent ? 'absent' : h.value}`;
    }
    for (const j of s.json ?? []) {
      const m = msgs[j.index];
      if (!m) return `${name} has no message ${j.index}`;
      let v;
      try {
        v = JSON.parse(m.body);
      } catch {
        return `${name}[${j.index}] is not JSON: ${m.body}`;
      }
      if (j.match && !matches(v, j.match)) return `${name}[${j.index}] ${m.body} does not match ${JSON.stringify(j.match)}`;
      for (const k of j.has ?? []) if (!(k in v)) return `${name}[${j.index}] ${m.body} lacks ${k}`;
    }
    return true;
  }
}

export function loadScenario(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}
