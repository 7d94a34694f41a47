// stompwire: the portable C++ STOMP client core (wasm/stompwire_wasm.cpp, a small C ABI) under a thin JS
// layer. One module instance per realm, shared by every Client; time and WebSockets come from JS.
//
// Rules this file keeps:
// - socket events enter the module only from the event loop: an event that arrives while the module is
//   calling out (a WebSocket-like object that fires synchronously, a user callback that provokes one)
//   is queued and delivered once the stack has unwound (transport.hpp's contract);
// - user callbacks never throw into wasm frames: errors go to options.onCallbackError, or are re-thrown
//   from a microtask, as an event listener's would be;
// - the memory views are refreshed after anything that may grow the heap.
//
// The order of the sections and of the constants is the one the gzipped bundle (scripts/build-js) is
// smallest with (similar code close together): measured, worth a few dozen bytes; keep it when editing.

import { abandon, codedError, dec, dynamicImport, errorText, makeTransportFactory, noop } from './transport.mjs';

const enc = new TextEncoder();
const disposeSymbol = Symbol.dispose ?? Symbol.for('Symbol.dispose');

let W; // the module's exports
// Its functions, bound at init. The module names its imports and exports by letters (every name is spelled
// in both the .wasm and this file: ~0.5 KB gzipped); wasm/stompwire_wasm.cpp's SW_EXPORT/SW_IMPORT lines
// give each function its letter. The bundle (scripts/build-js) calls W.<letter> directly instead: keep
// this list and the binding in instantiate() as they are (`let sw_...;` and `({ a: sw_..., ... } = W);`).
let sw_alloc, sw_free, sw_heap_used, sw_out_ptr, sw_out_len, sw_error_text,
  sw_pending_work, sw_timer_fire, sw_ws_event, sw_ws_message,
  sw_last_error, sw_client_create, sw_client_destroy, sw_activate, sw_deactivate,
  sw_before_connect_done, sw_state, sw_set_connect_headers, sw_metrics, sw_subscribe, sw_unsubscribe,
  sw_sub_free, sw_publish, sw_ack, sw_message_free, sw_begin, sw_tx_end, sw_tx_free;
let u8, u32, dv;
// Two heap buffers, [pointer, capacity]: 0 packs call arguments, 1 takes socket input.
const bufs = [[0, 0], [0, 0]];
let inView = null;
let busy = 0; // > 0 while the module is calling out to JS
let seq = 0;
let wsClass = null;
let ticker = null;
const clients = new Map();
const sockets = new Map();
const timers = new Map();
const backlog = [];
const released = new FinalizationRegistry(([free, h]) => free(h));

// ------------------------------------------------------------------------------------------------
// Memory and arguments

function view() {
  const b = W.memory.buffer;
  if (u8?.buffer !== b) {
    u8 = new Uint8Array(b);
    u32 = new Uint32Array(b);
    dv = new DataView(b);
  }
}

// UTF-8 bytes on the heap to a string. (A String.fromCharCode path for tiny ASCII strings was faster per
// call, but no hot path decodes tiny strings: MESSAGE frames come with their command, and a frame decodes
// as one.)
function str(p, n) {
  return dec.decode(u8.subarray(p, p + n));
}

// The bytes as a string if they are all ASCII (one character per byte), else undefined. Decodes first
// and checks after: a string as long as its bytes without U+FFFD can only come from ASCII, since every
// other UTF-8 sequence, valid or not, yields fewer UTF-16 units than bytes or a U+FFFD.
function ascii(p, n) {
  const s = str(p, n);
  return s.length === n && s.indexOf('\uFFFD') < 0 ? s : undefined;
}

function outStr(n = sw_out_len()) {
  view();
  return str(sw_out_ptr(), n);
}

function ensure(need, which) {
  const b = bufs[which];
  if (need > b[1]) {
    sw_free(b[0]); // free(0) does nothing
    b[1] = Math.max(need, 2 * b[1], 1024);
    b[0] = sw_alloc(b[1]);
    inView = null;
  }
  return b[0];
}

// The frame at p, a FrameView of the module (see stompwire_wasm.cpp), copied out into a Frame or a Message
// (see Frames below): the module's memory is only valid during the call. When the body follows the
// header block (the module puts small bodies there), one decode covers both.
function readFrame(p, binary, Kind = Frame, handle = 0, command) {
  view();
  // p: the module's FrameView, {command data, size}, {headers data, count}, {body data, size}.
  const f = p >> 2;
  const n = 2 * u32[f + 3];
  const lp = u32[f + 2] >> 2;
  const bp = u32[f + 4];
  const hp = n ? u32[lp] : bp;
  const lengths = [];
  let total = 0;
  // The HeaderView array: {name data, name size, value data, value size} per header.
  for (let i = 0; i < n; i++) total += lengths[i] = u32[lp + 2 * i + 1];
  const bn = u32[f + 5];
  let text, body, bytes;
  if (bp === hp + total && bn < 65536 && (text = ascii(hp, total + bn)) !== undefined) {
    body = text.substring(total);
  } else {
    text = ascii(hp, total);
    if (text === undefined) {
      // Non-ASCII headers: decode each name and value on its own (UTF-8 lengths are bytes).
      text = '';
      for (let i = 0, p = hp; i < n; i++) {
        const s = str(p, lengths[i]);
        p += lengths[i]; // the bytes, before the length becomes the string's
        text += s;
        lengths[i] = s.length;
      }
    }
    bytes = u8.slice(bp, bp + bn);
  }
  const frame = new Kind(command ?? str(u32[f], u32[f + 1]), text, lengths, body, bytes, !!binary, handle);
  if (handle) released.register(frame, [sw_message_free, handle], frame);
  return frame;
}

// Packs strings (u32 length + UTF-8 bytes, padded to 4), byte arrays (same) and numbers (f64).
function args(list) {
  let need = 0;
  for (const x of list) need += typeof x === 'number' ? 8 : 7 + (typeof x === 'string' ? 3 * x.length : x.length);
  const base = ensure(need, 0);
  view();
  let o = base;
  for (const x of list) {
    if (typeof x === 'number') {
      dv.setFloat64(o, x, true);
      o += 8;
      continue;
    }
    let n;
    if (typeof x === 'string') {
      // `need` holds 3 bytes a char: encodeInto never gets to the end of the buffer.
      n = enc.encodeInto(x, u8.subarray(o + 4)).written;
    } else {
      u8.set(x, o + 4);
      n = x.length;
    }
    u32[o >> 2] = n; // o stays 4-aligned (the module's memory is little-endian, as readFrame assumes)
    o += 4 + ((n + 3) & ~3);
  }
  return base;
}

function headerList(h, list = []) {
  const keys = h ? Object.keys(h).filter((k) => h[k] != null) : []; // undefined and null: left out
  list.push(keys.length);
  for (const k of keys) list.push(k, String(h[k]));
  return list;
}

function errName(code) {
  return outStr(sw_error_text(code, 0));
}

// An errc number (its name and text from the module) or a code string (always with a message); the
// message defaults to the errc's text.
function error(code, message = outStr(sw_error_text(code, 1)), extra) {
  return codedError(typeof code === 'number' ? errName(code) : code, message, extra);
}

// A byte view of an ArrayBuffer or any view (a Uint8Array too: a new view of the same bytes is cheap). An
// ArrayBuffer has no buffer nor byteOffset (0) and its own byteLength.
function bytesOf(b) {
  return new Uint8Array(b.buffer ?? b, b.byteOffset, b.byteLength);
}

// ------------------------------------------------------------------------------------------------
// Subscriptions and transactions

class Transaction {
  constructor(client, h, id) {
    this.id = id;
    this._client = client;
    this._h = h;
    released.register(this, [sw_tx_free, h], this);
  }
  _live() {
    if (!this._h || !this._client._h) throw error('invalid_state', `transaction ${this.id} is finished`);
    return this._h;
  }
  publish(params) {
    return this._client._publish(params, this._live());
  }
  ack(message, headers) {
    message._ack(0, this._live(), headers);
  }
  nack(message, headers) {
    message._ack(1, this._live(), headers);
  }
  commit() {
    this._end(1);
  }
  abort() {
    this._end(0);
  }
  _end(commit) {
    const h = this._live();
    const r = sw_tx_end(h, commit);
    this._h = 0;
    released.unregister(this);
    sw_tx_free(h);
    if (r) throw error(r);
  }
  [disposeSymbol]() {
    if (this._h && this._client._h) this.abort();
  }
}

class Subscription {
  constructor(client, key, id, destination, callback, headers) {
    this.id = id;
    this.destination = destination;
    this._client = client;
    this._key = key;
    this._cb = callback;
    this._headers = headers;
    this._q = []; // messages the iterator has not taken yet
    // Set later: _h (the module's handle while attached), _iterating, _ended.
  }
  _attach() {
    const c = this._client;
    const h = sw_subscribe(c._h, c._key, this._key, args(headerList(this._headers, [this.destination])));
    const e = sw_last_error();
    if (e) {
      sw_sub_free(h);
      this._end();
      throw error(e, `subscribe(${this.destination}): ${outStr(sw_error_text(e, 1))}`);
    }
    this._h = h;
  }
  unsubscribe(headers) {
    if (this._ended) return;
    const h = this._h;
    this._end();
    if (!h) return;
    const r = sw_unsubscribe(h, args(headerList(headers)));
    sw_sub_free(h);
    if (r && r !== 18 /* invalid_state: the client already forgot it */) throw error(r);
  }
  // Called once: only a subscription in client._subs can end, and ending takes it out.
  _end() {
    this._ended = true;
    this._h = 0;
    this._client._subs.delete(this._key);
    this._wake?.();
  }
  _deliver(m) {
    if (this._cb) this._client._call(this._cb, m);
    if (!this._cb || this._iterating) {
      this._q.push(m);
      this._wake?.();
    }
  }
  get active() {
    return !this._ended;
  }
  [Symbol.asyncIterator]() {
    this._iterating = true;
    return this._iterate();
  }
  async *_iterate() {
    try {
      for (;;) {
        if (this._q.length) yield this._q.shift();
        else if (this._ended) return;
        else await new Promise((r) => (this._wake = r));
      }
    } finally {
      this.unsubscribe();
    }
  }
  [disposeSymbol]() {
    this.unsubscribe();
  }
}

// ------------------------------------------------------------------------------------------------
// Timers, posted work, socket events

function fireTimer(id) {
  timers.delete(id);
  sw_timer_fire(id);
}

// Timers run in a Worker when asked (heartbeatStrategy: 'worker'): hidden browser tabs throttle the
// main thread's timers to a minute, which would miss heart-beats. null where there are no Workers (or
// no Blob URLs).
function workerTicker() {
  try {
    // [id, delay] arms timer id (always a fresh id: nothing to clear first); [id, -1] clears it.
    const src = 'let t={};onmessage=({data:[i,d]})=>{clearTimeout(t[i]);d<0?delete t[i]:t[i]=setTimeout(()=>{delete t[i];postMessage(i)},d)}';
    // An untyped Blob: the JavaScript MIME type check of worker scripts applies to HTTP(S) responses only
    // (HTML, "fetch a classic worker script").
    const w = new Worker(URL.createObjectURL(new Blob([src])));
    w.onmessage = (e) => sw_timer_fire(e.data);
    return w;
  } catch {
    return null;
  }
}

// A socket event, now or once the module is idle. A released socket's handlers are no-ops (abandon()), so
// only an event queued before the release can be stale: drain() checks.
// fn(conn, arg): no closure per message.
function later(rec, fn, arg) {
  if (busy || backlog.length) {
    if (backlog.push([rec, fn, arg]) === 1) queueMicrotask(drain);
  } else {
    fn(rec._conn, arg);
  }
}

function drain() {
  while (backlog.length && !busy) {
    const [rec, fn, arg] = backlog.shift();
    if (sockets.get(rec._conn) === rec) fn(rec._conn, arg);
  }
  if (backlog.length) queueMicrotask(drain);
}

function feed(conn, data) {
  let n, p, binary = 1;
  if (typeof data === 'string') {
    binary = 0;
    p = ensure(3 * data.length + 1, 1);
    view();
    // One view from the input buffer on, kept while the buffer (ensure() drops it) and the memory stay the
    // same: no typed-array allocation per message. The buffer holds 3 bytes a char: encodeInto never
    // writes past it.
    if (inView?.buffer !== u8.buffer) inView = u8.subarray(p);
    n = enc.encodeInto(data, inView).written;
  } else {
    const b = bytesOf(data);
    n = b.length;
    p = ensure(n + 1, 1);
    view();
    u8.set(b, p);
  }
  sw_ws_message(conn, p, n, binary);
}

// A rejected WebSocket handshake, where the platform shows its status: 401 and 403 as the native
// transport reports them. Node's `ws` puts the status in its error ("Unexpected server response: 401");
// a browser hides it (plain transport_error, 23, there).
function socketError(ev) {
  const m = /server response: 40([13])\b/.exec(ev?.error?.message ?? ev?.message);
  return m ? 27 /* unauthorized */ + (m[1] > 1) /* 403: forbidden, 28 */ : 23;
}

function openSocket(conn, key, url, protocols) {
  const c = clients.get(key);
  const rec = { _conn: conn, _sock: null };
  sockets.set(conn, rec);
  const onerror = (ev, code = socketError(ev)) => {
    c._lastSocketError = ev;
    later(rec, () => sw_ws_event(conn, 1, code));
  };
  const onclose = (ev) => later(rec, () => sw_ws_event(conn, 2, ev.code ?? 1006, ev.wasClean /* i32: true 1, false or undefined 0 */, args([ev.reason ?? ''])));
  let s;
  try {
    s = c._transport(url, protocols);
  } catch (cause) {
    // The factory threw: an error and a close, as from a socket that failed at once.
    onerror(cause, 23);
    return onclose({ reason: errorText(cause) });
  }
  rec._sock = s;
  try {
    s.binaryType = 'arraybuffer';
  } catch {}
  s.onopen = () => later(rec, () => sw_ws_event(conn, 0, 0, 0, args([s.protocol ?? ''])));
  s.onmessage = (ev) => later(rec, feed, ev.data);
  s.onerror = onerror;
  s.onclose = onclose;
}

// A call to connection conn's socket, if it has one; a closing socket may throw (its close event follows).
function toSocket(conn, fn) {
  const s = sockets.get(conn)?._sock;
  if (s) {
    view();
    calling(() => {
      try {
        fn(s);
      } catch {}
    });
  }
}

function calling(fn) {
  busy++;
  try {
    return fn();
  } finally {
    busy--;
  }
}

// ------------------------------------------------------------------------------------------------
// Loading

let loading = null;

// What the module imports: the functions above, by stompwire_wasm.cpp's SW_IMPORT letters.
const imports = {
  env: {
    // sw_now
    a: () => performance.now(),
    // sw_random
    b: Math.random,
    // sw_timer_set
    c(id, delay) {
      if (ticker) ticker.postMessage([id, delay]);
      else timers.set(id, setTimeout(fireTimer, delay, id));
    },
    // sw_timer_clear
    d(id) {
      ticker?.postMessage([id, -1]);
      clearTimeout(timers.get(id)); // (none with a ticker)
      timers.delete(id);
    },
    // sw_post: posted work, a timer fired from a microtask
    e: (id) => queueMicrotask(() => sw_timer_fire(id)),
    // sw_ws_open
    f(conn, key, up, ul, pp, pn) {
      view();
      const url = str(up, ul);
      // pn string_views ({data, size}) from pp
      const protocols = [];
      for (let i = pp / 4; pn--; i += 2) protocols.push(str(u32[i], u32[i + 1]));
      calling(() => openSocket(conn, key, url, protocols));
    },
    // sw_ws_send
    g: (conn, p, n, binary) => toSocket(conn, (s) => s.send(binary ? u8.slice(p, p + n) : str(p, n))),
    // sw_ws_close
    h: (conn, code, p, n) => toSocket(conn, (s) => s.close(code, str(p, n))),
    // sw_ws_buffered
    i: (conn) => sockets.get(conn)?._sock?.bufferedAmount ?? 0,
    // sw_ws_release
    j(conn) {
      toSocket(conn, abandon);
      sockets.delete(conn);
    },
    // sw_event
    k: (key, kind, a, b, c) => calling(() => clients.get(key)?._event(kind, a, b, c)),
    // sw_message
    l: (key, sub, handle, p, binary) => calling(() => clients.get(key)?._message(sub, handle, p, binary)),
  },
};

/**
 * Loads the module once. `source` (optional): the .wasm as bytes, a Response, a URL, or a compiled
 * WebAssembly.Module, for apps that host the file themselves. Default: stompwire.wasm next to this file,
 * read with fs in Node and fetched elsewhere. The first call loads: an app that hosts the file calls
 * init(source) before it creates a client (the module does not start a default load on import, which
 * would make a later init(source) return that load instead).
 */
export function init(source) {
  return (loading ??= instantiate(source));
}

async function instantiate(source) {
  if (typeof globalThis.WebSocket !== 'function') {
    wsClass = await dynamicImport('ws').then((m) => m.WebSocket ?? m.default, () => null);
  }
  // './' and a literal: the pattern bundlers (webpack 5, Vite, Parcel) turn into an emitted asset.
  const url = new URL('./stompwire.wasm', import.meta.url);
  source ??= url.protocol === 'file:' ? dynamicImport('node:fs/promises').then((fs) => fs.readFile(url)) : url;
  if (typeof source === 'string' || source instanceof URL) source = fetch(source);
  // A promise of any of these, or a WebAssembly.Module (passed through).
  source = await source;
  // A Response (from fetch or the app): its bytes. An Instance from a Module, {module, instance} from bytes.
  const r = await WebAssembly.instantiate(await (source.arrayBuffer?.() ?? source), imports);
  W = (r.instance ?? r).exports;
  ({
    a: sw_alloc, b: sw_free, c: sw_heap_used, e: sw_out_ptr, f: sw_out_len,
    g: sw_error_text, h: sw_pending_work, i: sw_timer_fire, k: sw_ws_event,
    l: sw_ws_message, o: sw_last_error, p: sw_client_create,
    q: sw_client_destroy, r: sw_activate, s: sw_deactivate, t: sw_before_connect_done, u: sw_state,
    v: sw_set_connect_headers, w: sw_metrics, x: sw_subscribe, z: sw_unsubscribe,
    A: sw_sub_free, B: sw_publish, C: sw_ack, D: sw_message_free, E: sw_begin, G: sw_tx_end,
    I: sw_tx_free
  } = W);
  W._initialize();
  // (No view() here: every reader of the heap makes its views first.)
}

/** Bytes allocated on the wasm heap (the leak probe of the tests). */
export function heapUsed() {
  return W ? sw_heap_used() : 0;
}

/** Timers and posted tasks the module is waiting for. */
export function pendingWork() {
  return W ? sw_pending_work() : 0;
}

// ------------------------------------------------------------------------------------------------
// Frames

// Built lazily: a frame keeps its header block as one string plus the lengths, and its body as a string
// (ASCII) or bytes, and decodes the rest on first access. Most callbacks read the body and a header or two.
class Frame {
  constructor(command, text, lengths, body, bytes, isBinaryBody, handle) {
    this.command = command;
    this.isBinaryBody = isBinaryBody;
    // The header names and values back to back and their lengths (name, value, ...); once parsed, the
    // headers object (and _lengths undefined).
    this._headers = text;
    this._lengths = lengths;
    this._body = body;
    this._bytes = bytes;
    this._h = handle; // Message: the frame's copy on the wasm heap until ack/nack (0: none)
  }
  get headers() {
    const t = this._headers, l = this._lengths;
    if (!l) return t;
    const h = {};
    for (let i = 0, k = 0; i < l.length; i += 2) {
      const name = t.substr(k, l[i]);
      k += l[i];
      if (!Object.hasOwn(h, name)) h[name] = t.substr(k, l[i + 1]); // a repeated header: the first counts
      k += l[i + 1];
    }
    this._lengths = undefined;
    return (this._headers = h);
  }
  get binaryBody() {
    // An ASCII body was kept as a string: its UTF-8 bytes are the same bytes.
    return (this._bytes ??= enc.encode(this._body));
  }
  get body() {
    return (this._body ??= dec.decode(this._bytes));
  }
  json() {
    try {
      return JSON.parse(this.body);
    } catch (cause) {
      throw error('json_parse_error', `invalid JSON body: ${cause.message}`, { cause });
    }
  }
}

class Message extends Frame {
  ack(headers) {
    this._ack(0, 0, headers);
  }
  nack(headers) {
    this._ack(1, 0, headers);
  }
  // The handle (a copy of the whole frame on the wasm heap) is freed at the first ack/nack, not left to
  // the FinalizationRegistry: a client-ack consumer would otherwise keep every acked message on the
  // heap until a major GC. Hence a second ack() is refused (invalid_state) where the C++ core, whose
  // Message the app owns, sends a second ACK (tests/scenarios/README.md, "Documented divergences").
  _ack(nack, tx, headers) {
    const h = this._h;
    if (!h) throw error('invalid_state', 'ack/nack: once per message, with ack: client or client-individual');
    this._h = 0;
    released.unregister(this);
    const r = sw_ack(h, nack, tx, args(headerList(headers)));
    sw_message_free(h);
    if (r) throw error(r);
  }
}

// ------------------------------------------------------------------------------------------------
// Client

export class Client {
  constructor(options = {}) {
    this._o = { ...options };
    this._key = ++seq;
    // Set later: _h (the module's handle once loaded), _disposed, _activate (activate() before loading).
    this._subs = new Map();
    this._pending = new Map(); // key -> settle(Error or 0): the promises of publish() and deactivate()
    // Opens each socket: transport 'sockjs' | 'auto' wrap it (transport.mjs); 'websocket' leaves it alone.
    this._transport = makeTransportFactory(options, (url, protocols) => {
      const f = this._o.webSocketFactory;
      if (f) return f(url, protocols);
      const WS = globalThis.WebSocket ?? wsClass;
      if (!WS) throw error('transport_error', 'no WebSocket: npm install ws (Node < 22), or pass webSocketFactory');
      return new WS(url, protocols);
    });
    // By event (EVENTS' order): [the onX handler property, ...the listeners onX(fn) added].
    this._on = EVENTS.map((e) => [typeof options[e] === 'function' ? options[e] : undefined]);
    if (options.heartbeatStrategy === 'worker') ticker ??= workerTicker();
    // Loaded: options are checked now (the constructor throws on a bad one); else once loaded.
    this.ready = W ? (this._init(), Promise.resolve(this)) : settled(init().then(() => (this._init(), this)));
  }

  /** Loads the module if needed and returns a client (rejects on a bad option). */
  static create(options) {
    return init().then(() => new Client(options));
  }

  _callbackError(e) {
    const handler = this._o.onCallbackError;
    if (handler) {
      try {
        return handler(e);
      } catch (e2) {
        e = e2;
      }
    }
    queueMicrotask(() => {
      throw e;
    });
  }

  _call(fn, arg) {
    try {
      fn.call(this, arg);
    } catch (e) {
      this._callbackError(e);
    }
  }

  // The module's events (stompwire_wasm.cpp's ev*): 1-8 are EVENTS[kind - 1]; 9 settles a publish's or a
  // deactivate's promise, 10 asks beforeConnect.
  _event(kind, a, b, c) {
    const listeners = this._on[kind - 1];
    if (listeners) {
      const arg =
        kind === 2 ? a ? error(a) : undefined
        : kind === 4 ? { state: STATES[a], previous: STATES[b], reason: c ? error(c) : undefined }
        : kind === 5 ? { code: a, reason: readFrame(c).body, wasClean: !!b }
        : kind === 6 ? error(a, undefined, { event: this._lastSocketError })
        : readFrame(a, b, kind === 7 ? Message : Frame);
      for (const fn of [...listeners]) if (fn) this._call(fn, arg); // [0], the handler property, may be unset
      return;
    }
    if (kind === 10) {
      // a: the module's `done`, which goes back exactly once. Only the newest attempt's is held: a newer
      // attempt makes an older one stale, so that one goes back at once (the core ignores it and frees
      // it), as does the one pending when the client is disposed (a promise that never settles leaks nothing).
      this._beforeConnectDone(1);
      this._bc = a;
      const done = (failed) => this._bc === a && this._beforeConnectDone(failed);
      // A throw and a rejection alike fail the attempt (reported once the module's call has returned).
      return new Promise((r) => r(this._o.beforeConnect(this))).then(() => done(0), (e) => (this._callbackError(e), done(1)));
    }
    const settle = this._pending.get(a);
    this._pending.delete(a);
    settle?.(b && error(b));
  }

  _beforeConnectDone(failed) {
    const a = this._bc;
    this._bc = 0;
    if (a) sw_before_connect_done(a, failed);
  }

  _message(subKey, handle, p, binary) {
    const m = readFrame(p, binary, Message, handle, 'MESSAGE');
    this._subs.get(subKey)?._deliver(m);
  }

  /** Starts connecting (reconnecting after failures) until deactivate(). */
  activate() {
    if (this._h) sw_activate(this._h);
    else this._activate = !this._disposed;
  }

  /** Graceful DISCONNECT (or {force: true}); resolves once inactive. Pending publishes fail with 'deactivated'. */
  deactivate(options = {}) {
    this._activate = false;
    if (!this._h) return settled(this._disposed ? Promise.resolve() : this.ready.then(() => this.deactivate(options)));
    const key = ++seq;
    const p = new Promise((r) => this._pending.set(key, () => r()));
    sw_deactivate(this._h, options.force ? 1 : 0, this._key, key);
    return p;
  }

  /** Destroys the client at once: the socket closes, nothing is called back afterwards. */
  dispose() {
    const h = this._h;
    this._h = 0;
    this._disposed = true;
    this._activate = false;
    if (!h) return;
    clients.delete(this._key);
    sw_client_destroy(h);
    this._beforeConnectDone(1);
    for (const settle of this._pending.values()) settle(error('deactivated', 'client disposed'));
    this._pending.clear();
    for (const s of this._subs.values()) { // _end() deletes s: a Map iterator goes on past it
      sw_sub_free(s._h);
      s._end();
    }
  }

  [disposeSymbol]() {
    this.dispose();
  }

  get state() {
    return STATES[this._h ? sw_state(this._h) : 0];
  }
  get connected() {
    return this.state === 'connected';
  }
  get active() {
    const s = this.state;
    return s !== 'inactive' && s !== 'failed';
  }
  /** With transport 'sockjs' or 'auto': what delivered the last connection's first frame ('websocket' | 'sockjs'), else null. */
  get transportUsed() {
    return this._transport._worked ?? null;
  }
  get brokerURL() {
    return this._o.brokerURL;
  }
  get connectHeaders() {
    return this._o.connectHeaders ?? {};
  }
  /** Used from the next connection attempt on (e.g. set in beforeConnect after a token refresh). */
  set connectHeaders(headers) {
    this._o.connectHeaders = headers;
    if (this._h) sw_set_connect_headers(this._h, args(headerList(headers)));
  }

  subscribe(destination, callback, headers = {}) {
    if (callback && typeof callback === 'object') {
      headers = callback;
      callback = undefined;
    }
    if (this._disposed) throw error('invalid_state', 'client disposed');
    const key = ++seq;
    const id = headers.id ?? `sub-${key}`;
    const s = new Subscription(this, key, String(id), destination, callback, { ...headers, id });
    this._subs.set(key, s);
    if (this._h) s._attach();
    return s;
  }

  publish(params) {
    return settled(
      this._h ? this._publish(params, 0)
      : this._disposed ? Promise.reject(error('deactivated', 'client disposed'))
      : this.ready.then(() => this.publish(params)),
    );
  }

  publishJson(destination, value, params) {
    return this.publish({
      ...params,
      destination,
      body: JSON.stringify(value),
      headers: { 'content-type': 'application/json', ...params?.headers },
    });
  }

  _publish(p, tx) {
    const binary = p.binaryBody !== undefined;
    const key = ++seq;
    const a = args(headerList(p.headers, [String(p.destination ?? ''), binary ? bytesOf(p.binaryBody) : String(p.body ?? '')]));
    const r = sw_publish(this._h, tx, this._key, key, binary | (p.receipt ? 2 : 0) | (p.skipContentLengthHeader ? 4 : 0), a);
    if (r < 0) return new Promise((res, rej) => this._pending.set(key, (e) => (e ? rej(e) : res())));
    return r ? Promise.reject(error(r)) : Promise.resolve();
  }

  begin(id = '') {
    if (!this._h) throw error('not_connected', 'not connected');
    const h = sw_begin(this._h, args([id]));
    const txId = outStr();
    const e = sw_last_error();
    if (e) {
      sw_tx_free(h);
      throw error(e);
    }
    return new Transaction(this, h, txId);
  }

  metrics() {
    if (!this._h) return { state: this.state };
    view();
    const p = sw_metrics(this._h);
    const m = {};
    METRICS.forEach((name, i) => {
      const v = dv.getFloat64(p + 8 * i, true);
      // 0: the state; 15-17: times, negative when unknown; 18: the last errc, 0 for none.
      m[name] = i === 0 ? STATES[v] : i < 15 ? v : i < 18 ? (v < 0 ? undefined : v) : v ? errName(v) : undefined;
    });
    return m;
  }

  // Creates the module's client from the options, once the module is loaded (last in the class: the gzipped
  // bundle is smaller so).
  _init() {
    if (this._disposed) return;
    const o = this._o;
    const r = o.reconnect ?? {};
    const q = o.offlineQueue ?? {};
    const list = [
      o.brokerURL || (o.webSocketFactory ? 'about:webSocketFactory' : o.sockjsURL ? 'about:sockjs' : ''),
      // The versions as bytes, the core's Version values (an unknown one -1, 255 as a byte: the core refuses
      // it); the core offers each once, whatever the order (default: all three).
      Array.from(o.versions ?? o.stompVersions?.versions ?? VERSIONS, (v) => VERSIONS.indexOf(String(v))),
      ...headerList(o.connectHeaders),
      // the numbers and flags: undefined or null is NaN (the default), a flag true 1 and false 0
      ...[
        o.useStompCommand && 1,
        o.heartbeatIncoming,
        o.heartbeatOutgoing,
        o.heartbeatToleranceMultiplier,
        o.connectionTimeout,
        o.receiptTimeout,
        o.disconnectTimeout,
        (r.enabled ?? (o.reconnectDelay === 0 ? false : undefined)) && 1,
        r.initialDelay ?? (o.reconnectDelay || undefined),
        r.maxDelay,
        r.multiplier,
        r.maxAttempts,
        r.resetAfter,
        q.maxMessages,
        q.maxBytes,
        o.splitLargeFrames && 1,
        o.maxWebSocketChunkSize,
        o.maxIncomingFrameSize,
        o.beforeConnect ? 1 : 0,
      ].map(num),
    ];
    const h = sw_client_create(this._key, args(list));
    if (!h) {
      const code = sw_last_error();
      const what = outStr();
      this._disposed = true;
      throw error(code, `invalid option ${what}`, { option: what });
    }
    this._h = h;
    clients.set(this._key, this);
    for (const s of this._subs.values()) {
      try {
        s._attach();
      } catch (e) {
        this._callbackError(e);
      }
    }
    if (this._activate) sw_activate(h);
  }
}

// The Client's constants, after the class (its methods read them only when called): the gzipped bundle is
// smaller with them here.
const num = (x) => (x === undefined || x === null ? NaN : Number(x));
const VERSIONS = ['1.0', '1.1', '1.2']; // by Version value
const STATES = 'inactive connecting connected reconnecting deactivating failed'.split(' ');
const METRICS = ('state attempts reconnects connects consecutiveFailures framesIn framesOut bytesIn bytesOut heartbeatsIn ' +
  'heartbeatsOut queueDepth queueBytes pendingReceipts subscriptions lastReceivedAt lastReceiptRtt nextAttemptAt lastError').split(' ');
const EVENTS = 'onConnect onDisconnect onStompError onStateChange onWebSocketClose onWebSocketError onUnhandledMessage onUnhandledReceipt'.split(' ');
const settled = (p) => (p.catch(noop), p);

// onConnect etc.: `client.onConnect(fn)` adds a listener and returns its remover; `client.onConnect = fn`
// sets the one handler property (as in @stomp/stompjs).
EVENTS.forEach((e, i) => {
  Object.defineProperty(Client.prototype, e, {
    get() {
      return (fn) => {
        const list = this._on[i];
        list.push(fn);
        return () => {
          const at = list.indexOf(fn, 1);
          if (at > 0) list.splice(at, 1);
        };
      };
    },
    set(fn) {
      this._on[i][0] = fn;
    },
  });
});

export { Client as default, Frame, Message, Subscription, Transaction };
