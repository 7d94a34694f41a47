// The `transport` option of Client: 'websocket' (default), 'sockjs' or 'auto'. Plain JS, no wasm:
// the client core only ever sees one WebSocket-like object per connection attempt; the fallback,
// the SockJS quirks and the memory of what worked live here.
//
//   transport: 'sockjs'  every attempt goes through sockjs-client (an optional peer dependency:
//                        `npm install sockjs-client`, or a global SockJS from a <script> tag, or
//                        the constructor itself in the `SockJS` option).
//   transport: 'auto'    each attempt tries WebSocket first and falls over to SockJS, inside the same
//                        attempt, when the upgrade fails or no first frame (CONNECTED) arrives within
//                        `fallbackTimeout` ms (default 4000) of the attempt's start: a proxy that
//                        hangs the upgrade, or accepts it and then swallows frames. What delivered a first frame is tried first on
//                        the next reconnect.
//
// SockJS carries text only: STOMP frames with binary bodies are sent as UTF-8 text.

const KINDS = ['websocket', 'sockjs'];
export const dec = new TextDecoder(); // shared with stompwire.mjs

/** The SockJS endpoint for a STOMP-over-WebSocket URL: ws->http, wss->https, a trailing /ws -> /sockjs. */
export function defaultSockJsURL(brokerURL) {
  const u = new URL(brokerURL);
  u.protocol = u.protocol.replace(/^ws/, 'http');
  u.pathname = u.pathname.replace(/\/ws$/, '/sockjs');
  return u.toString();
}

/** The package's errors: an Error with a `code` string (and `extra`'s fields). */
export const codedError = (code, message, extra) => Object.assign(new Error(message), { code }, extra);

let sockJsModule = null;
function loadSockJs(given) {
  if (given) return Promise.resolve(given);
  if (typeof globalThis.SockJS === 'function') return Promise.resolve(globalThis.SockJS);
  // Ignored by bundlers: the dependency is optional.
  return (sockJsModule ??= import(/* webpackIgnore: true */ /* @vite-ignore */ 'sockjs-client').then(
    (m) => m.default ?? m,
    (cause) => {
      sockJsModule = null;
      throw codedError('transport_error', "transport 'sockjs': npm install sockjs-client, or pass the SockJS option", { cause });
    },
  ));
}

/**
 * Makes the socket factory of one Client for options.transport. `openWebSocket(url, protocols)`
 * opens a plain WebSocket (the app's webSocketFactory or the platform's), and is the factory of
 * 'websocket' (nothing to wrap). Throws on an unknown transport.
 */
export function makeTransportFactory(options, openWebSocket) {
  const mode = options.transport ?? 'websocket';
  if (mode === 'websocket') return openWebSocket;
  if (mode !== 'sockjs' && mode !== 'auto') {
    throw codedError('invalid_option', `transport must be 'websocket', 'sockjs' or 'auto', got '${mode}'`, { option: 'transport' });
  }
  const fallbackTimeout = options.fallbackTimeout ?? 4000;
  const factory = (url, protocols) => {
    const plan = mode === 'sockjs' ? ['sockjs'] : factory._worked === 'sockjs' ? ['sockjs', 'websocket'] : ['websocket', 'sockjs'];
    const open = (kind) => {
      if (kind === 'websocket') return openWebSocket(url, protocols);
      return new SockJsSocket(loadSockJs(options.SockJS), options.sockjsURL ?? defaultSockJsURL(url), options.sockjsOptions);
    };
    return new FallbackSocket(plan, open, (kind) => (factory._worked = kind), fallbackTimeout);
  };
  // What delivered the last first frame ('websocket' | 'sockjs' | null): Client's transportUsed.
  factory._worked = null;
  return factory;
}

const text = (kind, data) => (kind === 'sockjs' && typeof data !== 'string' ? dec.decode(data) : data);
export const errorText = (e) => String(e?.message ?? e);

// What both wrappers show the client core: a WebSocket's fields, and its error and close events.
class SocketFace {
  constructor() {
    this.readyState = 0;
    this.protocol = '';
    this.binaryType = 'arraybuffer';
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
  }

  _closed(code, reason, wasClean, error) {
    this.readyState = 3;
    if (error) this.onerror?.({ type: 'error', error, message: error?.message });
    this.onclose?.({ type: 'close', code, reason, wasClean });
  }
}

// sockjs-client behind a WebSocket face: created synchronously (the module loads asynchronously),
// protocol '' (SockJS reports its transport name there), close codes SockJS accepts, text only.
class SockJsSocket extends SocketFace {
  constructor(ctorPromise, url, sockjsOptions) {
    super();
    // Set later: _sock (the SockJS object), _closeAsked (close()'s arguments while it connects).
    ctorPromise.then(
      (SockJS) => {
        if (this.readyState === 3) return;
        let sock;
        try {
          sock = new SockJS(url, null, sockjsOptions);
        } catch (e) {
          return this._fail(e);
        }
        this._sock = sock;
        sock.onopen = () => {
          if (this._closeAsked) return sock.close(...this._closeAsked);
          this.readyState = 1;
          this.onopen?.({ type: 'open' });
        };
        sock.onmessage = (ev) => this.onmessage?.({ type: 'message', data: ev.data });
        sock.onclose = (ev) => this._closed(ev.code, ev.reason ?? '', !!ev.wasClean);
        // No close() came before this point: close() without a SockJS object ends this one (readyState 3).
      },
      (e) => this._fail(e),
    );
  }

  _fail(error) {
    if (this.readyState !== 3) this._closed(1006, errorText(error), false, error);
  }

  get bufferedAmount() {
    return 0;
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('socket not open');
    this._sock.send(text('sockjs', data));
  }

  close(code = 1000, reason = '') {
    // SockJS accepts 1000 and 3000-4999 only.
    const c = code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
    if (this.readyState >= 2) return;
    if (!this._sock || this._sock.readyState === 0) {
      this._closeAsked = [c, reason];
      if (!this._sock) {
        this.readyState = 3;
        queueMicrotask(() => this._closed(c, reason, true));
      }
      return;
    }
    this.readyState = 2;
    this._sock.close(c, reason);
  }
}

// Tries the kinds in `plan` in order within one connection attempt; the client core sees one socket.
class FallbackSocket extends SocketFace {
  constructor(plan, open, remember, fallbackTimeout) {
    super();
    this._sent = []; // what the core sent before the first frame: replayed after a fall-over
    // Set later: _inner and _kind (the socket tried now), _timer, _gotFrame, _closing.
    const attempt = (i) => {
      const kind = plan[i];
      const last = i === plan.length - 1;
      let inner;
      try {
        inner = open(kind);
      } catch (error) {
        if (!last) return attempt(i + 1);
        return queueMicrotask(() => this._end({ code: 1006, reason: errorText(error), wasClean: false }, error));
      }
      this._inner = inner;
      this._kind = kind;
      try {
        inner.binaryType = 'arraybuffer';
      } catch {}
      const stale = () => this._inner !== inner;
      const failOver = () => {
        clearTimeout(this._timer);
        inner.onopen = inner.onmessage = inner.onerror = inner.onclose = () => {};
        try {
          inner.close(1000);
        } catch {}
        attempt(i + 1);
      };
      inner.onopen = () => {
        if (stale()) return;
        if (this._closing) return inner.close(1000);
        if (this.readyState === 0) {
          this.readyState = 1;
          this.protocol = kind === 'websocket' ? inner.protocol ?? '' : '';
          this.onopen?.({ type: 'open' });
        } else {
          for (const d of this._sent) inner.send(text(kind, d));
        }
      };
      // Counted from the attempt's start: an upgrade that hangs is as bad as frames that never come.
      if (!last) this._timer = setTimeout(() => !stale() && !this._gotFrame && failOver(), fallbackTimeout);
      inner.onmessage = (ev) => {
        if (stale()) return;
        if (!this._gotFrame) {
          this._gotFrame = true;
          clearTimeout(this._timer);
          this._sent = null;
          remember(kind);
        }
        this.onmessage?.(ev);
      };
      inner.onerror = (ev) => {
        if (stale() || (!this._gotFrame && !last && !this._closing)) return;
        this.onerror?.(ev);
      };
      inner.onclose = (ev) => {
        if (stale()) return;
        if (!this._gotFrame && !last && !this._closing) return failOver();
        this._end(ev);
      };
    };
    attempt(0);
  }

  get bufferedAmount() {
    return this._inner?.bufferedAmount ?? 0;
  }

  _end(ev, error) {
    clearTimeout(this._timer);
    if (this.readyState !== 3) this._closed(ev.code ?? 1006, ev.reason ?? '', !!ev.wasClean, error);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('socket not open');
    if (!this._gotFrame) this._sent.push(data);
    if (this._inner.readyState !== 1) return; // falling over: replayed once the next one opens
    this._inner.send(text(this._kind, data));
  }

  close(code = 1000, reason = '') {
    if (this._closing) return;
    this._closing = true;
    clearTimeout(this._timer);
    if (this.readyState === 0 || this.readyState === 1) this.readyState = 2;
    try {
      this._inner?.close(code, reason);
    } catch {
      try {
        this._inner?.close(1000);
      } catch {}
    }
  }
}

export { KINDS as TRANSPORTS };
