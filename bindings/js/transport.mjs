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

// (First in the file: measured, the gzipped bundle is 10 B smaller with it here than at the end.)
// What the client core sees: one WebSocket-like object per connection attempt, trying the kinds in `plan`
// in order behind it. `open(kind)` gives a function that creates the socket: at once for a WebSocket, as a
// promise for SockJS (sockjs-client loads asynchronously), called only if the attempt is still wanted by
// then. SockJS shows its transport name as the protocol (shown as ''), carries text only and accepts close
// codes 1000 and 3000-4999 (the core closes with 1000 or 4000).
class FallbackSocket {
  // (close() first, bufferedAmount after _end(): the member order the gzipped bundle is smallest with.)
  // Only the core calls it, always with a code and a reason.
  close(code, reason) {
    if (this._closing) return;
    this._closing = [code, reason];
    clearTimeout(this._timer);
    if (this.readyState < 2) this.readyState = 2;
    const inner = this._inner;
    // SockJS still loading: it is never created.
    if (!inner) return queueMicrotask(() => this._end({ code, reason, wasClean: true }));
    if (this._kind === 'sockjs' && !inner.readyState) return; // closed once open (see onopen)
    try {
      inner.close(code, reason);
    } catch {
      inner.close(1000); // a code or reason the socket refuses (the caller catches a throw from a closing one)
    }
  }

  constructor(plan, open, factory, fallbackTimeout) {
    // Only stompwire.mjs sees this object: it sets the on* handlers and binaryType, and reads protocol
    // once open. The close event it gets is the inner socket's own, or one made here (reason; code and wasClean when not 1006 and false).
    this.readyState = 0;
    this._sent = []; // what the core sent before the first frame (null after it): replayed after a fall-over
    // Set later: _kind and _inner (the attempt now: its kind and socket; _inner null while SockJS
    // loads), _timer, _closing (close()'s [code, reason]).
    const attempt = (i) => {
      const kind = plan[i];
      const last = !plan[i + 1];
      this._kind = kind;
      this._inner = null;
      // Whether a failure of this attempt falls over to the next kind rather than ending the socket.
      const more = () => !last && this._sent && !this._closing;
      const failOver = () => {
        clearTimeout(this._timer);
        if (this._inner) abandon(this._inner);
        attempt(i + 1);
      };
      const make = (create) => {
        // Only a SockJS still loading can outlive its attempt (a plan names each kind once): an abandoned
        // socket's handlers are no-ops, and the fall-over timer is cleared whenever it must not fire (first
        // frame, close(), the end).
        if (this._kind !== kind || this._closing) return;
        let inner;
        try {
          inner = this._inner = create();
        } catch (error) {
          // The next kind, or an error and a close (never from within the constructor: only the last kind
          // ends the socket, and it is never the first to be made at once).
          return last ? this._end({ reason: errorText(error) }, error) : failOver(); // code 1006, not clean: stompwire.mjs's defaults
        }
        try {
          inner.binaryType = 'arraybuffer';
        } catch {}
        inner.onopen = () => {
          // SockJS: a close() while it connected waited for this (closing it earlier leaves the session
          // on the server until it times out). A WebSocket closed while connecting never opens.
          if (this._closing) return inner.close(...this._closing);
          if (this.readyState) return this._sent.forEach((d) => inner.send(text(kind, d)));
          this.readyState = 1;
          this.protocol = kind === 'sockjs' ? '' : inner.protocol;
          this.onopen?.();
        };
        inner.onmessage = (ev) => {
          if (this._sent) {
            this._sent = null;
            clearTimeout(this._timer);
            factory._worked = kind;
          }
          this.onmessage?.(ev);
        };
        // sockjs-client's error events are not passed on (its close event says what happened).
        if (kind !== 'sockjs') inner.onerror = (ev) => more() || this.onerror?.(ev);
        inner.onclose = (ev) => (more() ? failOver() : this._end(ev));
      };
      // Counted from the attempt's start: an upgrade that hangs is as bad as frames that never come.
      if (!last) this._timer = setTimeout(failOver, fallbackTimeout);
      const create = open(kind);
      // A failed load goes the way of a constructor that throws.
      if (create.then) create.then(make, (error) => make(() => {
        throw error;
      }));
      else make(create);
    };
    attempt(0);
  }

  // No fall-over timer is pending here: close() and the first frame clear it, the last kind arms none.
  _end(ev, error) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    if (error) this.onerror?.(error); // what the creation threw, as stompwire.mjs passes on what webSocketFactory threw
    this.onclose?.(ev);
  }

  get bufferedAmount() {
    return this._inner?.bufferedAmount ?? 0;
  }

  // The core sends only once open.
  send(data) {
    this._sent?.push(data);
    if (this._inner?.readyState === 1) this._inner.send(text(this._kind, data)); // else falling over: replayed once the next one opens
  }
}

/** The SockJS endpoint for a STOMP-over-WebSocket URL: ws->http, wss->https, a trailing /ws -> /sockjs. */
export function defaultSockJsURL(brokerURL) {
  const u = new URL(brokerURL);
  u.protocol = u.protocol.replace(/^ws/, 'http');
  u.pathname = u.pathname.replace(/\/ws$/, '/sockjs');
  return u.href;
}

/** The package's errors: an Error with a `code` string (and `extra`'s fields). */
export const codedError = (code, message, extra) => Object.assign(new Error(message), { code }, extra);

// An optional dependency's import, left alone by bundlers (shared with stompwire.mjs: ws, node:fs/promises).
export const dynamicImport = (name) => import(/* webpackIgnore: true */ /* @vite-ignore */ name);

// The SockJS constructor: the SockJS option, a global one (from a <script> tag: a function, not an element
// with id "SockJS"), or sockjs-client, imported once (again after a failure).
let sockJsModule = null;
const loadSockJs = (given) =>
  Promise.resolve(
    given ||
      (typeof globalThis.SockJS === 'function' && globalThis.SockJS) ||
      (sockJsModule ??= dynamicImport('sockjs-client').then(
        (m) => m.default ?? m,
        (cause) => {
          sockJsModule = null;
          throw codedError('transport_error', "transport 'sockjs': npm install sockjs-client, or pass the SockJS option", { cause });
        },
      )),
  );

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
  const factory = (url, protocols) =>
    new FallbackSocket(
      mode === 'sockjs' ? ['sockjs'] : factory._worked === 'sockjs' ? ['sockjs', 'websocket'] : ['websocket', 'sockjs'],
      (kind) =>
        kind === 'websocket'
          ? () => openWebSocket(url, protocols)
          : loadSockJs(options.SockJS).then((SockJS) => () => new SockJS(options.sockjsURL ?? defaultSockJsURL(url), null, options.sockjsOptions)),
      factory,
      options.fallbackTimeout ?? 4000,
    );
  // factory._worked, set once a first frame arrives: what delivered it ('websocket' | 'sockjs'), Client's
  // transportUsed.
  return factory;
}

const text = (kind, data) => (kind === 'sockjs' && typeof data !== 'string' ? dec.decode(data) : data);
export const errorText = (e) => String(e?.message ?? e);
export const noop = () => {};

// Closes a socket nobody listens to any more. No-op handlers rather than null: `ws` throws on an 'error'
// event nobody listens to. (Shared with stompwire.mjs.)
export const abandon = (s) => {
  s.onopen = s.onmessage = s.onerror = s.onclose = noop;
  try {
    if (s.readyState < 2) s.close(1000);
  } catch {}
};


export { KINDS as TRANSPORTS };
