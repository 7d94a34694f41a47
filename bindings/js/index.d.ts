// Types of the stompwire npm package (hand-written; checked by tests/js/types with tsc --noEmit).

export type StompHeaders = Record<string, string | number | boolean | undefined | null>;

/** Every failure is an Error with one of these codes. */
export type ErrorCode =
  | 'invalid_command' | 'malformed_header' | 'invalid_escape' | 'invalid_content_length' | 'missing_null'
  | 'frame_too_large' | 'too_many_headers' | 'header_line_too_long' | 'body_too_large' | 'unencodable_header'
  | 'protocol_error' | 'unsupported_version' | 'stomp_error' | 'heartbeat_timeout' | 'connect_timeout'
  | 'receipt_timeout' | 'not_connected' | 'invalid_state' | 'invalid_argument' | 'queue_full' | 'deactivated'
  | 'max_attempts_reached' | 'transport_error' | 'connection_closed' | 'before_connect_failed'
  | 'json_parse_error' | 'unauthorized' | 'forbidden' | 'rate_limited' | 'server_shutting_down';

export interface StompwireError extends Error {
  code: ErrorCode;
  /** With code 'invalid_argument' from the constructor: the bad option ('reconnect.maxDelay'...). */
  option?: string;
  /** With code 'transport_error': the WebSocket's error event (or what webSocketFactory threw). */
  event?: unknown;
}

export type ClientState = 'inactive' | 'connecting' | 'connected' | 'reconnecting' | 'deactivating' | 'failed';

/** A received frame (CONNECTED, ERROR, RECEIPT, MESSAGE). */
export declare class Frame {
  readonly command: string;
  /** First occurrence wins when a header repeats. */
  readonly headers: Record<string, string>;
  /** The body decoded as UTF-8 (NULs included). */
  readonly body: string;
  readonly binaryBody: Uint8Array;
  /** It arrived in a binary WebSocket message. */
  readonly isBinaryBody: boolean;
  /** JSON.parse(body); throws an Error with code 'json_parse_error'. */
  json<T = unknown>(): T;
}

export declare class Message extends Frame {
  /** ACK (subscriptions with ack: 'client' or 'client-individual'), once per message. Throws with a code. */
  ack(headers?: StompHeaders): void;
  nack(headers?: StompHeaders): void;
}

export declare class Subscription implements AsyncIterable<Message> {
  readonly id: string;
  readonly destination: string;
  readonly active: boolean;
  /** UNSUBSCRIBE when connected; no message is delivered to it afterwards. */
  unsubscribe(headers?: StompHeaders): void;
  /** Messages in order; ends when unsubscribed or the client is disposed; `break` unsubscribes. */
  [Symbol.asyncIterator](): AsyncIterator<Message>;
  [Symbol.dispose](): void;
}

export interface PublishParams {
  destination: string;
  /** Sent as a text WebSocket message. */
  body?: string;
  /** Sent as a binary WebSocket message. */
  binaryBody?: Uint8Array | ArrayBuffer | ArrayBufferView;
  headers?: StompHeaders;
  /** Resolve on the broker's RECEIPT; resent after a reconnect until confirmed (at-least-once). */
  receipt?: boolean;
  skipContentLengthHeader?: boolean;
}

export declare class Transaction {
  readonly id: string;
  publish(params: PublishParams): Promise<void>;
  ack(message: Message, headers?: StompHeaders): void;
  nack(message: Message, headers?: StompHeaders): void;
  commit(): void;
  abort(): void;
  /** Aborts if still open. */
  [Symbol.dispose](): void;
}

export interface StateChange {
  state: ClientState;
  previous: ClientState;
  /** Why (failures, timeouts); undefined for changes the app asked for. */
  reason?: StompwireError;
}

export interface CloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** What webSocketFactory must return: the browser's WebSocket, `ws`, a SockJS client, a test double. */
export interface WebSocketLike {
  readonly protocol?: string;
  readonly readyState: number;
  readonly bufferedAmount?: number;
  binaryType?: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => unknown) | null;
  onmessage: ((ev: any) => unknown) | null;
  onerror: ((ev: any) => unknown) | null;
  onclose: ((ev: any) => unknown) | null;
}

/** Durations in milliseconds. */
export interface ClientOptions {
  /** ws:// or wss:// URL; optional with webSocketFactory. */
  brokerURL?: string;
  /** Called for each connection attempt; default: globalThis.WebSocket, else the `ws` package. */
  webSocketFactory?: (url: string, protocols: string[]) => WebSocketLike;
  /**
   * 'websocket' (default); 'sockjs': every attempt over sockjs-client (optional peer dependency);
   * 'auto': WebSocket first, SockJS when the upgrade fails or no first frame arrives within
   * fallbackTimeout, and what worked is tried first on the next reconnect.
   */
  transport?: 'websocket' | 'sockjs' | 'auto';
  /** The SockJS endpoint. Default: brokerURL with ws->http, wss->https and a trailing /ws -> /sockjs. */
  sockjsURL?: string;
  /** Passed to `new SockJS(url, null, sockjsOptions)`, e.g. `{ transports: ['xhr-streaming'] }`. */
  sockjsOptions?: Record<string, unknown>;
  /** 'auto': ms without a first frame before falling over to SockJS (default 4000). */
  fallbackTimeout?: number;
  /** The SockJS constructor, for bundled apps; default: global SockJS, else `import('sockjs-client')`. */
  SockJS?: new (url: string, _reserved?: unknown, options?: Record<string, unknown>) => unknown;
  /** Offered STOMP versions. Default ['1.2', '1.1', '1.0']. */
  versions?: Array<'1.0' | '1.1' | '1.2'>;
  connectHeaders?: StompHeaders;
  useStompCommand?: boolean;
  /** Default 10000 each; 0 disables. */
  heartbeatIncoming?: number;
  heartbeatOutgoing?: number;
  /** Incoming silence limit = negotiated interval x this. Default 2. */
  heartbeatToleranceMultiplier?: number;
  /** 'worker' runs the timers in a Worker, so heart-beats survive hidden-tab throttling (browsers). */
  heartbeatStrategy?: 'interval' | 'worker';
  connectionTimeout?: number;
  receiptTimeout?: number;
  disconnectTimeout?: number;
  reconnect?: {
    enabled?: boolean;
    initialDelay?: number;
    maxDelay?: number;
    multiplier?: number;
    /** Consecutive failures before state 'failed'; 0 = unlimited. */
    maxAttempts?: number;
    resetAfter?: number;
  };
  /** @stomp/stompjs compatibility: reconnect.initialDelay, and 0 disables reconnecting. */
  reconnectDelay?: number;
  offlineQueue?: { maxMessages?: number; maxBytes?: number };
  splitLargeFrames?: boolean;
  maxWebSocketChunkSize?: number;
  maxIncomingFrameSize?: number;
  /** Runs before every connection attempt (token refresh); a rejection counts as a failed attempt. */
  beforeConnect?: (client: Client) => void | Promise<void>;
  /** Receives what a callback threw; default: re-thrown from a microtask. */
  onCallbackError?: (error: unknown) => void;
  onConnect?: (frame: Frame) => void;
  onDisconnect?: (error: StompwireError | undefined) => void;
  onStompError?: (frame: Frame) => void;
  onStateChange?: (change: StateChange) => void;
  onWebSocketClose?: (event: CloseEvent) => void;
  onWebSocketError?: (error: StompwireError) => void;
  onUnhandledMessage?: (message: Message) => void;
  onUnhandledReceipt?: (frame: Frame) => void;
}

export interface Metrics {
  state: ClientState;
  attempts?: number;
  reconnects?: number;
  connects?: number;
  consecutiveFailures?: number;
  framesIn?: number;
  framesOut?: number;
  bytesIn?: number;
  bytesOut?: number;
  heartbeatsIn?: number;
  heartbeatsOut?: number;
  queueDepth?: number;
  queueBytes?: number;
  pendingReceipts?: number;
  subscriptions?: number;
  lastReceivedAt?: number;
  lastReceiptRtt?: number;
  nextAttemptAt?: number;
  lastError?: ErrorCode;
}

/** Adds a listener; returns a function that removes it. Assigning a function sets the single handler. */
type Listen<T> = (listener: (arg: T) => void) => () => void;

export declare class Client {
  /** Usable at once: calls made before the wasm module has loaded are queued. */
  constructor(options: ClientOptions);
  /** Loads the module, then constructs; rejects with code 'invalid_argument' on a bad option. */
  static create(options: ClientOptions): Promise<Client>;
  /** Resolves once the module is loaded and the client is set up. */
  readonly ready: Promise<Client>;

  readonly state: ClientState;
  readonly connected: boolean;
  /** Not inactive and not failed. */
  readonly active: boolean;
  readonly brokerURL: string | undefined;
  /** With transport 'sockjs' or 'auto': what delivered the last connection's first frame. */
  readonly transportUsed: 'websocket' | 'sockjs' | null;
  /** Setting takes effect at the next connection attempt. */
  connectHeaders: StompHeaders;

  activate(): void;
  /** Graceful DISCONNECT with receipt (or {force: true}); resolves once inactive. */
  deactivate(options?: { force?: boolean }): Promise<void>;
  dispose(): void;
  [Symbol.dispose](): void;

  subscribe(destination: string, callback: (message: Message) => void, headers?: StompHeaders): Subscription;
  subscribe(destination: string, headers?: StompHeaders): Subscription;
  /** Resolves when sent (or on RECEIPT with receipt: true); queued while offline; rejects with a code. */
  publish(params: PublishParams): Promise<void>;
  publishJson(destination: string, value: unknown, params?: Omit<PublishParams, 'destination' | 'body' | 'binaryBody'>): Promise<void>;
  /** Throws code 'not_connected' when offline. */
  begin(id?: string): Transaction;
  metrics(): Metrics;

  get onConnect(): Listen<Frame>;
  set onConnect(handler: ((frame: Frame) => void) | undefined);
  get onDisconnect(): Listen<StompwireError | undefined>;
  set onDisconnect(handler: ((error: StompwireError | undefined) => void) | undefined);
  get onStompError(): Listen<Frame>;
  set onStompError(handler: ((frame: Frame) => void) | undefined);
  get onStateChange(): Listen<StateChange>;
  set onStateChange(handler: ((change: StateChange) => void) | undefined);
  get onWebSocketClose(): Listen<CloseEvent>;
  set onWebSocketClose(handler: ((event: CloseEvent) => void) | undefined);
  get onWebSocketError(): Listen<StompwireError>;
  set onWebSocketError(handler: ((error: StompwireError) => void) | undefined);
  get onUnhandledMessage(): Listen<Message>;
  set onUnhandledMessage(handler: ((message: Message) => void) | undefined);
  get onUnhandledReceipt(): Listen<Frame>;
  set onUnhandledReceipt(handler: ((frame: Frame) => void) | undefined);
}

/** Loads the module (once). Optional source: the .wasm bytes, a Response, a URL or a WebAssembly.Module. */
// Typed loosely so that the declarations compile without the DOM lib (Node projects).
export declare function init(source?: ArrayBuffer | ArrayBufferView | PromiseLike<unknown> | string | object): Promise<void>;
/** Bytes in use on the wasm heap (leak checks). */
export declare function heapUsed(): number;
/** Timers and posted tasks the module is waiting for. */
export declare function pendingWork(): number;

export default Client;
